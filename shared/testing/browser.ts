// A real headless Chromium for the dashboard's tests: Debian's `chromium`
// package driven by playwright-core (no browser download). Without it the
// tests fail and say how to install one; they never skip.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

// Headless, and no calls home: without these Chromium reaches for the network.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
]

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `No Chromium at ${CHROMIUM}. Install Debian's package (sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary, then run npm run test:browser again.`,
    )
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
}
