/**
 * Prints the importer's catalogue as docs/own-app.md's table; `--write` puts it in the page between its markers.
 *
 *   node --import tsx scripts/catalogue-table.ts [--write]
 */
import fs from 'node:fs';
import { catalogueTable, TABLE_END, TABLE_START } from '../src/gateway/aws/table.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('usage: node --import tsx scripts/catalogue-table.ts [--write]\n\nPrints the table of every ELBv2 setting the importer knows; --write replaces it in docs/own-app.md.');
  process.exit(0);
}
const table = catalogueTable();
if (!process.argv.includes('--write')) {
  console.log(table);
  process.exit(0);
}
const page = 'docs/own-app.md';
const text = fs.readFileSync(page, 'utf8');
const start = text.indexOf(TABLE_START);
const end = text.indexOf(TABLE_END);
if (start < 0 || end < start) {
  console.error(`${page}: no ${TABLE_START} … ${TABLE_END} markers`);
  process.exit(1);
}
fs.writeFileSync(page, text.slice(0, start) + table + text.slice(end + TABLE_END.length));
console.error(`${page}: table written (${table.split('\n').length - 4} settings)`);
