/** Terminal styling for the CLI: colour only on a terminal, and never under NO_COLOR (no-color.org) or TERM=dumb. */
export interface Style {
  color: boolean;
  bold: (s: string) => string;
  dim: (s: string) => string;
  red: (s: string) => string;
  yellow: (s: string) => string;
  green: (s: string) => string;
  magenta: (s: string) => string;
  cyan: (s: string) => string;
}

export function terminalStyle(stream: NodeJS.WriteStream = process.stdout): Style {
  const color = !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  const sgr = (code: number) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { color, bold: sgr(1), dim: sgr(2), red: sgr(31), yellow: sgr(33), green: sgr(32), magenta: sgr(35), cyan: sgr(36) };
}
