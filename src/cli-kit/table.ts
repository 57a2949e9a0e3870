// Aligned plain-text tables that fit the terminal: fixed columns keep their width, the one flexible column
// (a path, usually) is shortened from the left, where the least useful part of a path is.

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  align?: 'left' | 'right';
  /** The column that gives up width when the table is wider than the terminal. */
  flexible?: boolean;
}

const ellipsis = '…';
const defaultWidth = 120;

export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number {
  // Piped output has no columns: use a generous width rather than 80, so redirected tables stay readable.
  return stream.isTTY && stream.columns ? stream.columns : defaultWidth;
}

export function shortenLeft(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(text.length - width);
  return ellipsis + text.slice(text.length - width + 1);
}

export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], maxWidth: number): string {
  const cells = rows.map((row) => columns.map((column) => oneLine(column.value(row))));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => line[i].length)));
  const gap = 2;
  const total = widths.reduce((sum, w) => sum + w, 0) + gap * (columns.length - 1);
  const flexibleIndex = columns.findIndex((column) => column.flexible);
  if (total > maxWidth && flexibleIndex >= 0) {
    const minimum = Math.max(columns[flexibleIndex].header.length, 12);
    widths[flexibleIndex] = Math.max(minimum, widths[flexibleIndex] - (total - maxWidth));
  }
  const format = (line: string[]): string =>
    line
      .map((cell, i) => {
        const fitted = i === flexibleIndex ? shortenLeft(cell, widths[i]) : cell;
        const isLast = i === line.length - 1;
        if (columns[i].align === 'right') return fitted.padStart(widths[i]);
        return isLast ? fitted : fitted.padEnd(widths[i]);
      })
      .join(' '.repeat(gap));
  return [format(columns.map((column) => column.header)), ...cells.map(format)].join('\n') + '\n';
}

// A newline or tab inside a value (an error message, an odd file name) would break the alignment.
function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ');
}
