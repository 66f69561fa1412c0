/** A progress bar on stderr: redrawn in place on a terminal, a line every 10 % otherwise (logs stay short). */
export function progressBar(label: string, write: (s: string) => void, isTTY = Boolean(process.stderr.isTTY)): (done: number, total: number) => void {
  let lastDrawn = -1;
  const started = Date.now();
  return (done, total) => {
    const frac = total > 0 ? done / total : 1;
    const step = isTTY ? Math.floor(frac * 200) : Math.floor(frac * 10);
    if (step === lastDrawn && done !== total) return;
    lastDrawn = step;
    const width = 30;
    const filled = Math.round(frac * width);
    const secs = (Date.now() - started) / 1000;
    const line = `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} ${secs.toFixed(1)}s`;
    write(isTTY ? `\r${line}${done === total ? "\n" : ""}` : `${line}\n`);
  };
}
