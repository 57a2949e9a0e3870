// `npm run config:schema`: writes config/birdwatch.schema.json and docs/configuration.md from the declarations
// (src/config/schema.ts). Run it after changing a key; test/config-schema.test.ts fails until the copies are current.
import fs from 'node:fs';
import { fromProjectRoot } from './paths.js';
import { configurationDoc, jsonSchemaText } from './publish.js';

const outputs: Array<[string, string]> = [
  [fromProjectRoot('config', 'birdwatch.schema.json'), jsonSchemaText()],
  [fromProjectRoot('docs', 'configuration.md'), configurationDoc()],
];
for (const [file, text] of outputs) {
  fs.mkdirSync(fromProjectRoot('docs'), { recursive: true });
  fs.writeFileSync(file, text);
  console.log(`wrote ${file}`);
}
