/**
 * Debian's chromium for the browser tests, driven by playwright-core (which downloads no browser of its own). In CI
 * a missing browser fails the run; elsewhere the tests are skipped with the reason.
 */
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const present = fs.existsSync(CHROMIUM);
if (!present && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium for the browser tests`);

/** For `describe(…, { skip })`: false, or why the browser tests cannot run here. */
export const skipWithoutChromium: false | string = present ? false : `no ${CHROMIUM} (apt-get install chromium); CI installs it`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // As this machine's probe runs it: no sandbox as root, and no background calls to the closed network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
