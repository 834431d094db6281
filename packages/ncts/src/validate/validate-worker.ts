import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workerData } from 'node:worker_threads';
import type * as LibxmlModule from 'libxml2-wasm';
import type { ErrorDetail, XmlDocument, XsdValidator as LibxmlSchema } from 'libxml2-wasm';
import { MAX_ATTRIBUTE_CHARS, scanXml } from '../parse/scan.js';
import { locateIssues } from './locate.js';
import type { SchemaPhase, ValidationIssue, ValidationResult } from '../types.js';

// Worker-thread entry of XsdValidator. Each thread owns one libxml2 (WASM) instance, compiles a
// schema the first time it meets a root element and keeps it for the thread's lifetime.
//
// libxml2-wasm is imported lazily: it initialises with top-level await, and from TypeScript
// sources this file is loaded through tsx's require() hook (tsx's ESM hooks do not reach worker
// threads on Node 20), which cannot load a module graph that awaits at the top level.

type Libxml = typeof LibxmlModule;

export interface ValidatorWorkerData {
  /** Directory holding phase5/ and phase6/ schema sets. */
  schemaDir: string;
  maxBytes: number;
  maxDepth: number;
  maxErrors: number;
}

export interface ValidateTask {
  xml: Uint8Array | string;
  phase: SchemaPhase;
}

const config = workerData as ValidatorWorkerData;

let libxmlLoading: Promise<Libxml> | null = null;

const emptyPlan = {
  leaves: new Set<string>(),
  groups: new Set<string>(),
  counters: new Set<string>(),
};
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

let schemaFiles: Record<string, Uint8Array> | null = null;
const compiled = new Map<string, LibxmlSchema>();

/**
 * Serves xsd:include/xsd:import from memory, and only files under the schema directory: libxml2
 * asks the registered providers for every URL it resolves, so nothing else can be read.
 */
function loadSchemaFiles(libxml: Libxml): Record<string, Uint8Array> {
  if (schemaFiles !== null) return schemaFiles;
  const files: Record<string, Uint8Array> = {};
  const collect = (dir: string): void => {
    for (const dirent of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, dirent.name);
      if (dirent.isDirectory()) collect(path);
      else if (dirent.name.endsWith('.xsd')) files[path] = readFileSync(path);
    }
  };
  collect(config.schemaDir);
  libxml.xmlRegisterInputProvider(new libxml.XmlBufferInputProvider(files));
  schemaFiles = files;
  return files;
}

function schemaFor(libxml: Libxml, phase: SchemaPhase, rootElement: string): LibxmlSchema | null {
  const key = `${phase}/${rootElement}`;
  const cached = compiled.get(key);
  if (cached) return cached;
  const path = join(config.schemaDir, phase, `${rootElement.toLowerCase()}.xsd`);
  const source = loadSchemaFiles(libxml)[path];
  if (source === undefined) return null;
  // Schema documents are ours and trusted; a failure here is a packaging bug and should throw.
  const schemaDocument = libxml.XmlDocument.fromBuffer(source, {
    url: path,
    option: libxml.ParseOption.XML_PARSE_NONET,
  });
  try {
    const schema = libxml.XsdValidator.fromDoc(schemaDocument);
    compiled.set(key, schema);
    return schema;
  } finally {
    schemaDocument.dispose();
  }
}

function failed(errors: ValidationIssue[]): ValidationResult {
  if (errors.length <= config.maxErrors) return { ok: false, errors };
  return {
    ok: false,
    errors: [
      ...errors.slice(0, config.maxErrors),
      {
        lineNumber: 0,
        columnNumber: 0,
        message: `${errors.length - config.maxErrors} further errors omitted`,
      },
    ],
  };
}

function issuesOf(details: readonly ErrorDetail[]): ValidationIssue[] {
  return details.map((detail) => ({
    lineNumber: detail.line,
    columnNumber: detail.col,
    message: detail.message.trim(),
  }));
}

export async function validateTask(task: ValidateTask): Promise<ValidationResult> {
  libxmlLoading ??= import('libxml2-wasm');
  const libxml = await libxmlLoading;
  const bytes = typeof task.xml === 'string' ? Buffer.from(task.xml) : task.xml;
  if (bytes.byteLength > config.maxBytes) {
    return failed([
      { lineNumber: 0, columnNumber: 0, message: `Document larger than ${config.maxBytes} bytes` },
    ]);
  }
  let text: string;
  try {
    text = typeof task.xml === 'string' ? task.xml : strictUtf8.decode(bytes);
  } catch {
    return failed([{ lineNumber: 0, columnNumber: 0, message: 'Document is not valid UTF-8' }]);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  // Refuse DOCTYPEs, entity declarations and absurd nesting before libxml2 parses anything, and
  // learn the root element that picks the schema.
  const scan = scanXml(text, emptyPlan, {
    maxDepth: config.maxDepth,
    maxAttributeChars: MAX_ATTRIBUTE_CHARS,
  });
  if (!scan.ok) {
    const { line, column, message } = scan.error;
    return failed([{ lineNumber: line, columnNumber: column, message }]);
  }
  const qualifiedName = scan.capture.root.qualifiedName;
  const rootElement = qualifiedName.slice(qualifiedName.indexOf(':') + 1);
  const schema = schemaFor(libxml, task.phase, rootElement);
  if (schema === null) {
    return failed([
      {
        lineNumber: 1,
        columnNumber: 0,
        message: `No ${task.phase} schema for root element ${rootElement}`,
      },
    ]);
  }

  // Instance documents never load anything: no network, no external entities (DOCTYPEs were
  // refused above anyway). BIG_LINES keeps line numbers right past 65,535.
  const { ParseOption, XmlLibError } = libxml;
  let document: XmlDocument;
  try {
    document = libxml.XmlDocument.fromBuffer(bytes, {
      option:
        ParseOption.XML_PARSE_NONET |
        ParseOption.XML_PARSE_NO_XXE |
        ParseOption.XML_PARSE_BIG_LINES,
    });
  } catch (error) {
    if (error instanceof XmlLibError) return failed(issuesOf(error.details));
    throw error;
  }
  try {
    schema.validate(document);
    return { ok: true };
  } catch (error) {
    // libxml2 gives schema errors a line only: add the column and path of the element named.
    if (error instanceof XmlLibError) return failed(locateIssues(text, issuesOf(error.details)));
    throw error;
  } finally {
    document.dispose();
  }
}
