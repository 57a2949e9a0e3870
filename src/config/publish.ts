// The configuration's two published forms, both made from the declarations in schema.ts: the JSON Schema editors
// use to complete and check a config file (config/birdwatch.schema.json), and the reference page
// (docs/configuration.md). `npm run config:schema` writes them; a test checks the checked-in copies are current.
import { CONFIG_SCHEMA, META_KEYS } from './schema.js';
import { limitsText, type Declared } from './values.js';

type Node = Record<string, unknown>;

/** The JSON Schema (draft-07, what editors and Fastify's validator know) as the file holds it. */
export function jsonSchemaText(): string {
  const schema = standard(JSON.parse(JSON.stringify(CONFIG_SCHEMA)) as Node);
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...schema }, null, 2)}\n`;
}

/** Strips birdwatch's own annotations (flag, reload, ...) and requires only what has no default. */
function standard(node: Node): Node {
  const out: Node = {};
  for (const [name, value] of Object.entries(node)) {
    if ((META_KEYS as readonly string[]).includes(name)) continue;
    if (name === 'properties' || name === 'patternProperties') {
      out[name] = Object.fromEntries(
        Object.entries(value as Record<string, Node>).map(([key, inner]) => [key, standard(inner)]),
      );
    } else if (name === 'items') {
      out[name] = standard(value as Node);
    } else if (name === 'anyOf') {
      out[name] = (value as Node[]).map(standard);
    } else {
      out[name] = value;
    }
  }
  if (Array.isArray(out.required)) {
    const properties = node.properties as Record<string, Node>;
    const required = (out.required as string[]).filter((key) => properties[key]?.default === undefined);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

/** docs/configuration.md: every key with its type, default, limits, flag, reload behaviour and description. */
export function configurationDoc(): string {
  const top = CONFIG_SCHEMA as unknown as Declared;
  const props = top.properties!;
  const lines = [
    '<!-- Generated from src/config/schema.ts by `npm run config:schema`; edit the declarations there, not this. -->',
    '# Configuration reference',
    '',
    `${top.description} Start from \`config/birdwatch.example.json\`; its \`"$schema"\` line lets an editor`,
    'complete and check the keys against `config/birdwatch.schema.json`. Keys starting with `//` are comments; any',
    'other unknown key is refused, with its name and file. Paths given by a flag are relative to the working',
    "folder, paths in the file to the file's folder, default paths to the install folder.",
    '',
    '**On SIGHUP** says what `birdwatch run` does with a changed value when it reloads the config (`systemctl',
    'reload birdwatch`): *applied*; *restart* (kept, with a warning, until a restart); *not read by the daemon*',
    '(the command that uses it reads the file each time it starts).',
    '',
    '## Top-level keys',
    '',
    ...table(props, ''),
    '',
    '## A camera (`cameras[]`)',
    '',
    ...table(props.cameras!.items!.properties!, ''),
    '',
    '## `web`',
    '',
    ...table(props.web!.properties!, 'web.'),
    '',
    '## `retrain`',
    '',
    ...table(props.retrain!.properties!, 'retrain.'),
    '',
    '## `calibration`',
    '',
    ...table(props.calibration!.properties!, 'calibration.'),
  ];
  return `${lines.join('\n')}\n`;
}

function table(properties: Record<string, Declared>, prefix: string): string[] {
  const rows = ['| Key | Type | Default | Limits | Flag | On SIGHUP | Description |', '|---|---|---|---|---|---|---|'];
  for (const [name, schema] of Object.entries(properties)) {
    const cells = [
      `\`${prefix}${name}\``,
      typeText(schema),
      defaultText(schema),
      limitsText(schema) ?? '',
      schema.flag === undefined ? '' : `\`--${schema.flag}\``,
      RELOAD_TEXT[schema.reload],
      schema.description ?? '',
    ];
    rows.push(`| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`);
  }
  return rows;
}

const RELOAD_TEXT = { applied: 'applied', restart: 'restart', unused: 'not read by the daemon' } as const;

function typeText(schema: Declared): string {
  if (schema.anyOf !== undefined) return schema.anyOf.map((option) => `\`'${String(option.const)}'\``).join(' or ');
  if (schema.address) return '`HOST:PORT`';
  if (schema.path) return 'path';
  switch (schema.type) {
    case 'integer':
      return 'whole number';
    case 'array':
      return 'list of cameras';
    case 'boolean':
      return '`true` or `false`';
    default:
      return String(schema.type);
  }
}

function defaultText(schema: Declared): string {
  if (schema.default === undefined) return '';
  if (schema.type === 'object') return '';
  return `\`${JSON.stringify(schema.default)}\``;
}
