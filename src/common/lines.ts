/**
 * A text stream's lines as they arrive: `onLine` for each line ended by '\n' (without it). `onRest`, when given, gets
 * the unterminated rest at the stream's end (not called when the stream ended on a line end).
 */
export function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void, onRest?: (rest: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    partial += d;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      onLine(line);
    }
  });
  if (onRest) {
    stream.once('end', () => {
      if (partial) onRest(partial);
      partial = '';
    });
  }
}
