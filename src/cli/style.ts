/** Terminal styling for the CLI: colour only on a terminal, and never under NO_COLOR (no-color.org) or TERM=dumb. */
export interface Style {
  color: boolean;
  bold: (s: string) => string;
  dim: (s: string) => string;
}

export function terminalStyle(stream: NodeJS.WriteStream = process.stdout): Style {
  const color = !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  return { color, bold: (s) => (color ? `\x1b[1m${s}\x1b[0m` : s), dim: (s) => (color ? `\x1b[2m${s}\x1b[0m` : s) };
}
