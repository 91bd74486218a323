// Mocha reporter: the spec reporter plus a closing "N passed, N failed,
// N skipped" line (the form CI reads), and the counts appended as JSON to
// $TEST_COUNTS_FILE so scripts/test.sh can add up unit and integration runs.
'use strict';
const Mocha = require('mocha');
const fs = require('node:fs');

class CountingSpec extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats;
      const counts = { passed: s.passes, failed: s.failures, skipped: s.pending };
      process.stdout.write(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
      if (process.env.TEST_COUNTS_FILE) fs.appendFileSync(process.env.TEST_COUNTS_FILE, JSON.stringify(counts) + '\n');
    });
  }
}
module.exports = CountingSpec;
