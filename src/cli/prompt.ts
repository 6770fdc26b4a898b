/** The parts of stdin the CLI uses; a test may pass any readable stream. */
export type InputStream = NodeJS.ReadableStream & {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
};

/** Reads stdin to its end and returns the text. */
export async function readAll(input: InputStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads the first line of stdin without its line ending; stops reading at the first newline. */
export async function readLine(input: InputStream): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const newline = text.indexOf('\n');
    if (newline !== -1) return text.slice(0, newline).replace(/\r$/, '');
  }
  return text.replace(/\r$/, '');
}

/**
 * Prompts on `output` and reads a line from the terminal without echoing it, for unseal keys and
 * tokens. Backspace edits the line and Ctrl-C or Ctrl-D rejects with an error.
 */
export function readHidden(input: InputStream, output: { write(text: string): unknown }, prompt: string): Promise<string> {
  output.write(prompt);
  input.setRawMode?.(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error): void => {
      input.removeListener('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const char of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new Error('input canceled'));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    input.on('data', onData);
  });
}
