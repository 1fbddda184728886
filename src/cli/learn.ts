// `sluice learn --spam|--ham PATH…`: trains Bayes from files, directories, maildirs and mbox files.
import type { Command } from './main.ts';
import { configOption, loadConfigOrReport } from './common.ts';
import { openStore } from '../store/index.ts';
import { bayesSettings } from '../bayes/index.ts';
import { learnPaths, type LearnProgress } from '../bayes/learner.ts';

export const learnCommand: Command = {
  summary: 'train Bayes from message files, directories, maildirs or mbox files',
  usage: 'sluice learn [-c FILE] --spam|--ham PATH…',
  options: {
    ...configOption,
    spam: { type: 'boolean', default: false },
    ham: { type: 'boolean', default: false },
  },
  async run(values, paths) {
    if (values.spam === values.ham || !paths.length) {
      process.stderr.write(`usage: ${this.usage}\n(exactly one of --spam and --ham, and at least one path)\n`);
      return 2;
    }
    const as = values.spam ? 'spam' : 'ham';
    const config = loadConfigOrReport(values.config as string);
    if (!config) return 1;
    const store = await openStore(config.store, { tokenTtlDays: config.bayes.tokenTtlDays });
    const tty = process.stderr.isTTY;
    let lastDraw = 0;
    const onProgress = (p: LearnProgress) => {
      if (p.outcome === 'failed') {
        process.stderr.write(`${tty ? '\r\x1b[K' : ''}${p.file}: ${p.error}\n`);
      }
      const now = Date.now();
      if (tty && now - lastDraw > 100) {
        lastDraw = now;
        process.stderr.write(`\r\x1b[Klearning ${as}: ${p.done} messages…`);
      }
    };
    try {
      const started = performance.now();
      const summary = await learnPaths(store.bayes, paths, as, bayesSettings(config), onProgress);
      if (tty) process.stderr.write('\r\x1b[K');
      const seconds = (performance.now() - started) / 1000;
      const total = summary.learned + summary.relearned + summary.unchanged + summary.failed;
      const stats = await store.bayes.stats();
      process.stdout.write(
        `${total} messages as ${as}: ${summary.learned} learned, ${summary.relearned} moved from the other class, ` +
          `${summary.unchanged} already learned, ${summary.failed} failed (${(total / Math.max(seconds, 1e-3)).toFixed(0)}/s)\n` +
          `now learned: ${stats.learnedSpam} spam, ${stats.learnedHam} ham; ${stats.tokens} tokens\n`,
      );
      return summary.failed ? 1 : 0;
    } finally {
      await store.close();
    }
  },
};
