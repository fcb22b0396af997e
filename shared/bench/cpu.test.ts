import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { cpuMsOf } from './cpu'
import { waitFor } from '../wait-for'

describe('CPU time read from /proc (the bench)', () => {
  it("counts a busy child process's CPU time going up, and an idle one's not", async () => {
    const busy = spawn(process.execPath, ['-e', 'for (;;) {}'])
    const idle = spawn(process.execPath, [
      '-e',
      "setInterval(() => {}, 1000); console.log('idle')",
    ])
    try {
      // Node's own start-up is work: count from once the idle child idles.
      await once(idle.stdout, 'data')
      await waitFor('both children to start', () => busy.pid && idle.pid)
      const busyBefore = cpuMsOf([busy.pid!])
      const idleBefore = cpuMsOf([idle.pid!])
      await waitFor(
        'the busy child to use 200 ms of CPU',
        () => cpuMsOf([busy.pid!]) - busyBefore >= 200,
        { timeoutMs: 10_000 },
      )
      expect(cpuMsOf([idle.pid!]) - idleBefore).toBeLessThan(100)
    } finally {
      busy.kill('SIGKILL')
      idle.kill('SIGKILL')
      await Promise.all([once(busy, 'exit'), once(idle, 'exit')])
    }
  })

  it('counts the children of a process with it', async () => {
    const parent = spawn(process.execPath, [
      '-e',
      `const child = require('node:child_process').spawn(process.execPath, ['-e', 'for (;;) {}'])
       console.log(child.pid); setInterval(() => {}, 1000)`,
    ])
    let child = 0
    parent.stdout.on('data', (chunk: Buffer) => (child = Number(chunk)))
    try {
      await waitFor('the parent to start its child', () => child)
      const before = cpuMsOf([parent.pid!])
      await waitFor(
        "the parent's busy child to count",
        () => cpuMsOf([parent.pid!]) - before >= 200,
        { timeoutMs: 10_000 },
      )
    } finally {
      if (child) process.kill(child, 'SIGKILL')
      parent.kill('SIGKILL')
      await once(parent, 'exit')
    }
  })

  it('reads 0 for a process that is not there', () => {
    expect(cpuMsOf([2 ** 22 + 1])).toBe(0)
  })
})
