import {
  catalogue,
  catalogueByCode,
  catalogueByRoot,
  messageTypeOfRoot,
  submittableMessageTypes,
} from './catalogue.js';

describe('catalogue', () => {
  it('holds every message type of the phase 5 catalogue and the phase-4-only codes', () => {
    const codes = catalogue.map((entry) => entry.code).sort();
    expect(codes).toEqual(
      [
        'IE004',
        'IE007',
        'IE008',
        'IE009',
        'IE013',
        'IE014',
        'IE015',
        'IE016',
        'IE019',
        'IE022',
        'IE025',
        'IE028',
        'IE029',
        'IE035',
        'IE043',
        'IE044',
        'IE045',
        'IE051',
        'IE054',
        'IE055',
        'IE056',
        'IE057',
        'IE058',
        'IE060',
        'IE140',
        'IE141',
        'IE170',
        'IE182',
        'IE906',
        'IE917',
        'IE928',
      ].sort(),
    );
  });

  it('names phase 5 roots after the code (IEnnn → CCnnnC)', () => {
    for (const entry of catalogue) {
      if (entry.root !== null) expect(entry.root).toBe(`CC${entry.code.slice(2)}C`);
    }
  });

  it('maps phase 5 and phase 4 roots to the IE code', () => {
    expect(messageTypeOfRoot('CC028C')).toBe('IE028');
    expect(messageTypeOfRoot('CC028A')).toBe('IE028');
    expect(messageTypeOfRoot('CC015B')).toBe('IE015');
    expect(messageTypeOfRoot('CC029B')).toBe('IE029');
    expect(messageTypeOfRoot('CC051B')).toBe('IE051');
    expect(messageTypeOfRoot('CC917A')).toBe('IE917');
    expect(messageTypeOfRoot('CC016A')).toBe('IE016');
    expect(messageTypeOfRoot('CC008A')).toBe('IE008');
    expect(messageTypeOfRoot('CC058A')).toBe('IE058');
    expect(messageTypeOfRoot('CC054C')).toBe('IE054');
  });

  it('does not map unknown or prefixed roots', () => {
    expect(messageTypeOfRoot('CC999C')).toBeUndefined();
    expect(messageTypeOfRoot('ncts:CC028C')).toBeUndefined();
    expect(messageTypeOfRoot('CC028B')).toBeUndefined();
    expect(catalogueByRoot('html')).toBeUndefined();
    expect(catalogueByCode('IE999')).toBeUndefined();
  });

  it('gives phase-4-only codes no phase 5 root', () => {
    for (const code of ['IE016', 'IE008', 'IE058']) {
      expect(catalogueByCode(code)).toMatchObject({ root: null, direction: 'inbound' });
    }
  });

  it('lists the phase 4 roots of §4.2', () => {
    const phase4 = catalogue.flatMap((entry) => entry.phase4Roots).sort();
    expect(phase4).toEqual(
      [
        'CC015B',
        'CC014A',
        'CC016A',
        'CC028A',
        'CC029B',
        'CC009A',
        'CC045A',
        'CC051B',
        'CC055A',
        'CC060A',
        'CC928A',
        'CC007A',
        'CC008A',
        'CC043A',
        'CC044A',
        'CC058A',
        'CC025A',
        'CC917A',
      ].sort(),
    );
  });

  it('describes direction, movement type and names as the TIS does', () => {
    expect(catalogueByCode('IE028')).toEqual({
      code: 'IE028',
      root: 'CC028C',
      phase4Roots: ['CC028A'],
      shortName: 'E_MRN_ALL',
      name: 'MRN Allocated',
      direction: 'inbound',
      movementType: 'departure',
      submittable: false,
    });
    expect(catalogueByCode('IE007')).toMatchObject({
      direction: 'outbound',
      movementType: 'arrival',
    });
    expect(catalogueByCode('IE057')).toMatchObject({
      direction: 'inbound',
      movementType: 'arrival',
    });
    expect(catalogueByCode('IE141')).toMatchObject({ direction: 'outbound', shortName: null });
    expect(catalogueByCode('IE917')).toMatchObject({ movementType: 'both' });
  });

  it('lets traders submit exactly IE015, IE013, IE014, IE170, IE007 and IE044', () => {
    expect([...submittableMessageTypes].sort()).toEqual(
      ['IE007', 'IE013', 'IE014', 'IE015', 'IE044', 'IE170'].sort(),
    );
    for (const code of submittableMessageTypes) {
      expect(catalogueByCode(code)?.direction).toBe('outbound');
    }
  });

  it('cannot be changed by a caller', () => {
    const entry = catalogueByCode('IE015');
    expect(() => {
      (entry as { name: string }).name = 'changed';
    }).toThrow(TypeError);
    expect(Object.isFrozen(catalogue)).toBe(true);
  });
});
