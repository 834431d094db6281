import { consignee, traderAddress, writeAddress } from './common.js';
import type { ResolvedParams } from './params.js';
import type { XmlWriter } from './xml.js';

/**
 * Consignment and goods items shared by the declaration-shaped messages (IE015, IE013, IE029)
 * and the unloading permission (IE043). Only elements that are valid, in the same order, in all
 * of them are written, so one writer serves all four schemas.
 */

interface Commodity {
  description: string;
  hs: string;
  cn: string;
  packageType: string;
  /** Gross kilograms per package. */
  kgPerPackage: number;
}

// A small rotating catalogue keeps messages varied but deterministic for a given item number.
const commodities: readonly Commodity[] = [
  {
    description: 'Laptop computers, 14 inch, boxed with chargers',
    hs: '847130',
    cn: '00',
    packageType: 'CT',
    kgPerPackage: 9.5,
  },
  {
    description: 'Cotton T-shirts, knitted, assorted sizes',
    hs: '610910',
    cn: '00',
    packageType: 'CT',
    kgPerPackage: 12.25,
  },
  {
    description: 'Red wine in 75 cl glass bottles, 12 per case',
    hs: '220421',
    cn: '42',
    packageType: 'CS',
    kgPerPackage: 16.8,
  },
  {
    description: 'Glazed ceramic floor tiles',
    hs: '690721',
    cn: '00',
    packageType: 'PX',
    kgPerPackage: 640,
  },
  {
    description: 'Frozen Atlantic salmon fillets',
    hs: '030441',
    cn: '00',
    packageType: 'CT',
    kgPerPackage: 21,
  },
  {
    description: 'Bicycle parts: chains, brake sets and derailleurs',
    hs: '871499',
    cn: '90',
    packageType: 'BX',
    kgPerPackage: 7.4,
  },
  {
    description: 'Swivel office chairs, upholstered, flat packed',
    hs: '940130',
    cn: '00',
    packageType: 'PK',
    kgPerPackage: 18.5,
  },
  {
    description: 'Printed books, paperback, English language',
    hs: '490199',
    cn: '00',
    packageType: 'BX',
    kgPerPackage: 14,
  },
];

const remarks: readonly string[] = [
  'Goods packed on EUR pallets and shrink-wrapped; consignee to be notified 24 hours before arrival at the office of destination; handling instructions are attached to the commercial invoice',
  'Temperature range 2 to 8 degrees Celsius to be maintained during carriage; data logger fitted to the trailer and readings available on request from the carrier',
  'Part shipment of purchase order; remaining goods follow under a separate declaration within 14 days; packing list reference repeated on every package label',
  'Fragile goods, do not stack more than two pallets high; inspection may be carried out at the place of loading by prior arrangement with the holder',
];

const supportingDocumentTypes = ['N380', 'N325', 'N271', 'N935'] as const;

function packagesOf(itemNumber: number): number {
  return 1 + ((itemNumber * 7) % 40);
}

/** Gross mass of goods item `itemNumber` in kg, with at most 3 decimals (exact in binary-safe form). */
export function itemGrossMass(itemNumber: number): number {
  const commodity = commodities[(itemNumber - 1) % commodities.length]!;
  return Math.round(packagesOf(itemNumber) * commodity.kgPerPackage * 1000) / 1000;
}

const mass = (kilograms: number) => String(Math.round(kilograms * 1000) / 1000);

function writeGoodsItem(writer: XmlWriter, itemNumber: number, params: ResolvedParams): void {
  const commodity = commodities[(itemNumber - 1) % commodities.length]!;
  const packages = packagesOf(itemNumber);
  const gross = itemGrossMass(itemNumber);
  writer.open('ConsignmentItem');
  writer.leaf('goodsItemNumber', itemNumber);
  writer.leaf('declarationGoodsItemNumber', itemNumber);
  writer.open('Commodity');
  writer.leaf('descriptionOfGoods', commodity.description);
  writer.group('CommodityCode', {
    harmonizedSystemSubHeadingCode: commodity.hs,
    combinedNomenclatureCode: commodity.cn,
  });
  writer.group('GoodsMeasure', { grossMass: mass(gross), netMass: mass(gross * 0.92) });
  writer.close('Commodity');
  writer.group('Packaging', {
    sequenceNumber: 1,
    typeOfPackages: commodity.packageType,
    numberOfPackages: packages,
    shippingMarks: `NFL/${params.lrn}/${itemNumber}`,
  });
  // One invoice per item, plus `detailsPerItem` further documents and remarks: realistic in
  // kind, and the knob buildMessageOfSize turns to reach large sizes.
  const documents = 1 + params.detailsPerItem;
  for (let sequence = 1; sequence <= documents; sequence += 1) {
    writer.group('SupportingDocument', {
      sequenceNumber: sequence,
      type: supportingDocumentTypes[(itemNumber + sequence) % supportingDocumentTypes.length],
      referenceNumber: `INV-${params.lrn}-${itemNumber}-${sequence}`,
      complementOfInformation: sequence === 1 ? 'Commercial invoice' : `Annex ${sequence - 1}`,
    });
  }
  for (let sequence = 1; sequence <= params.detailsPerItem; sequence += 1) {
    writer.group('AdditionalInformation', {
      sequenceNumber: sequence,
      code: '30600',
      text: remarks[(itemNumber + sequence) % remarks.length],
    });
  }
  writer.close('ConsignmentItem');
}

/** Item numbers per house consignment: NCTS allows at most 999 items in one. */
function houseConsignments(count: number): number[][] {
  const groups: number[][] = [];
  for (let first = 1; first <= count; first += 999) {
    const items: number[] = [];
    for (let item = first; item <= Math.min(count, first + 998); item += 1) items.push(item);
    groups.push(items);
  }
  return groups;
}

function writeHouseConsignments(writer: XmlWriter, params: ResolvedParams): void {
  houseConsignments(params.goodsItemCount).forEach((items, index) => {
    writer.open('HouseConsignment');
    writer.leaf('sequenceNumber', index + 1);
    writer.leaf('grossMass', mass(items.reduce((sum, item) => sum + itemGrossMass(item), 0)));
    writer.open('Consignee');
    writer.leaf('identificationNumber', consignee.identificationNumber);
    writer.leaf('name', consignee.name);
    writeAddress(writer, consignee.address);
    writer.close('Consignee');
    for (const item of items) writeGoodsItem(writer, item, params);
    writer.close('HouseConsignment');
  });
}

export function totalGrossMass(params: ResolvedParams): number {
  let total = 0;
  for (let item = 1; item <= params.goodsItemCount; item += 1) total += itemGrossMass(item);
  return total;
}

/** Consignment of IE015 / IE013 / IE029 (declaration data). */
export function writeDeclarationConsignment(writer: XmlWriter, params: ResolvedParams): void {
  const destinationCountry = params.officeOfDestination.slice(0, 2);
  writer.open('Consignment');
  writer.leaf('countryOfDispatch', params.officeOfDeparture.slice(0, 2));
  writer.leaf('countryOfDestination', destinationCountry);
  writer.leaf('containerIndicator', '1');
  writer.leaf('inlandModeOfTransport', '3');
  writer.leaf('modeOfTransportAtTheBorder', '1');
  writer.leaf('grossMass', mass(totalGrossMass(params)));
  writer.open('Carrier');
  writer.leaf('identificationNumber', 'GB552211334000');
  writer.close('Carrier');
  writer.open('Consignor');
  writer.leaf('identificationNumber', params.eori);
  writer.leaf('name', params.traderName);
  writeAddress(writer, traderAddress(params.eori));
  writer.close('Consignor');
  writeTransportEquipment(writer);
  writer.group('LocationOfGoods', {
    typeOfLocation: 'B',
    qualifierOfIdentification: 'Y',
    authorisationNumber: `${params.officeOfDeparture.slice(0, 2)}DEPLOC${params.eori.slice(-4)}`,
  });
  writer.group('DepartureTransportMeans', {
    sequenceNumber: 1,
    typeOfIdentification: '30',
    identificationNumber: 'NF24KXB',
    nationality: 'GB',
  });
  writer.group('ActiveBorderTransportMeans', {
    sequenceNumber: 1,
    customsOfficeAtBorderReferenceNumber: params.officeOfDeparture,
    typeOfIdentification: '11',
    identificationNumber: 'STENA SUPERFAST VII',
    nationality: 'GB',
    conveyanceReferenceNumber: 'SSF7-0730',
  });
  writer.group('PlaceOfLoading', { UNLocode: 'GBCYN' });
  writer.group('PlaceOfUnloading', { UNLocode: 'GBBEL' });
  writer.group('TransportDocument', {
    sequenceNumber: 1,
    type: 'N730',
    referenceNumber: `CMR${params.lrn}`,
  });
  writeHouseConsignments(writer, params);
  writer.close('Consignment');
}

function writeTransportEquipment(writer: XmlWriter): void {
  writer.open('TransportEquipment');
  writer.leaf('sequenceNumber', 1);
  writer.leaf('containerIdentificationNumber', 'MSKU4875112');
  writer.leaf('numberOfSeals', 2);
  writer.group('Seal', { sequenceNumber: 1, identifier: 'HMRC0042117' });
  writer.group('Seal', { sequenceNumber: 2, identifier: 'HMRC0042118' });
  writer.close('TransportEquipment');
}

/** Consignment of IE043 (unloading permission): a different order and fewer elements. */
export function writeUnloadingConsignment(writer: XmlWriter, params: ResolvedParams): void {
  writer.open('Consignment');
  writer.leaf('countryOfDestination', params.officeOfDestination.slice(0, 2));
  writer.leaf('containerIndicator', '1');
  writer.leaf('inlandModeOfTransport', '3');
  writer.leaf('grossMass', mass(totalGrossMass(params)));
  writer.open('Consignor');
  writer.leaf('identificationNumber', 'GB123456789000');
  writer.leaf('name', 'Northbound Freight Ltd');
  writeAddress(writer, traderAddress('GB'));
  writer.close('Consignor');
  writeTransportEquipment(writer);
  writer.group('DepartureTransportMeans', {
    sequenceNumber: 1,
    typeOfIdentification: '30',
    identificationNumber: 'NF24KXB',
    nationality: 'GB',
  });
  writer.group('TransportDocument', {
    sequenceNumber: 1,
    type: 'N730',
    referenceNumber: `CMR${params.mrn}`,
  });
  writeHouseConsignments(writer, params);
  writer.close('Consignment');
}

/** IE025 goods release: per house consignment and item, a releaseType and the commodity. */
export function writeReleaseConsignment(writer: XmlWriter, params: ResolvedParams): void {
  writer.open('Consignment');
  houseConsignments(params.goodsItemCount).forEach((items, index) => {
    writer.open('HouseConsignment');
    writer.leaf('sequenceNumber', index + 1);
    writer.leaf('releaseType', '1');
    for (const item of items) {
      const commodity = commodities[(item - 1) % commodities.length]!;
      writer.open('ConsignmentItem');
      writer.leaf('goodsItemNumber', item);
      writer.leaf('declarationGoodsItemNumber', item);
      writer.leaf('releaseType', '1');
      writer.open('Commodity');
      writer.leaf('descriptionOfGoods', commodity.description);
      writer.group('CommodityCode', {
        harmonizedSystemSubHeadingCode: commodity.hs,
        combinedNomenclatureCode: commodity.cn,
      });
      writer.group('GoodsMeasure', { grossMass: mass(itemGrossMass(item)) });
      writer.close('Commodity');
      writer.group('Packaging', {
        sequenceNumber: 1,
        typeOfPackages: commodity.packageType,
        numberOfPackages: packagesOf(item),
      });
      writer.close('ConsignmentItem');
    }
    writer.close('HouseConsignment');
  });
  writer.close('Consignment');
}
