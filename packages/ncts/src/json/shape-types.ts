/** The shape tables generated from the NCTS XSDs (see xsd-shapes.ts). */

/** A child element: [name, content, repeats]; content is a complex type name, 'n' or 's'. */
export type ChildShape = [name: string, content: string, repeats: 0 | 1];

export interface ComplexShape {
  /** Child elements in sequence order. */
  c: ChildShape[];
  /** Attribute names. */
  a: string[];
}

export interface SchemaShapes {
  /** Root element name (CC015C) → its complex type. */
  roots: Record<string, string>;
  types: Record<string, ComplexShape>;
}
