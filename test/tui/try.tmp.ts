import { Dashboard } from '../../src/tui/dashboard';
import { HeadlessTerminal, waitForScreen } from './headless';
(async () => {
  const t = new HeadlessTerminal(140, 45);
  const d = new Dashboard({ kind: 'capture', input: process.argv[2] }, { terminal: { input: t.input, output: t.output, terminal: 'xterm-256color' }, handleSignals: false, analyzer: { correlator: { bucketSeconds: 1 } } }).start();
  await d.inputEnded;
  await new Promise(r => setTimeout(r, 400));
  await t.settle();
  console.log(t.text());
  t.keys('\r');
  await new Promise(r => setTimeout(r, 200)); await t.settle();
  console.log(t.text());
  d.quit(); await d.done; t.dispose();
})();
