// Typical wrong answers to this exercise. `npm run verify:exercises` proves
// that each one fails a test whose message names the hint that fixes it.
import type { Mutant } from '../../../shared/mutants'

export const mutants: Mutant[] = [
  {
    name: 'round-robin counts positions in the candidates, not in servers',
    hint: 'Hint 1: round-robin',
    replace: `    for (let i = 0; i < servers.length; i++) {
      const server = servers[(next + i) % servers.length]!
      if (candidates.includes(server)) {
        next = (next + i + 1) % servers.length
        return server
      }
    }
    return undefined`,
    with: `    return candidates[next++ % candidates.length]`,
  },
  {
    name: 'round-robin moves its turn by one, not past the server it chose',
    hint: 'Hint 1: round-robin',
    replace: `next = (next + i + 1) % servers.length`,
    with: `next = (next + 1) % servers.length`,
  },
  {
    name: 'round-robin never moves its turn',
    hint: 'Hint 1: round-robin',
    replace: `next = (next + i + 1) % servers.length`,
    with: `void next`,
  },
  {
    name: 'least-connections breaks ties by taking the first server',
    hint: 'Hint 2: least-connections',
    replace: `return roundRobin(candidates.filter((s) => s.inFlight === fewest))`,
    with: `return candidates.find((s) => s.inFlight === fewest)`,
  },
  {
    name: 'least-connections chooses among every server, so one that is down or already tried gets the request',
    hint: 'Hint 2: least-connections',
    replace: `return roundRobin(candidates.filter((s) => s.inFlight === fewest))`,
    with: `return roundRobin(servers.filter((s) => s.inFlight === fewest))`,
  },
  {
    name: 'least-connections skips servers that are down, but not the ones a retry already tried',
    hint: 'Hint 2: least-connections',
    replace: `return roundRobin(candidates.filter((s) => s.inFlight === fewest))`,
    with: `return roundRobin(servers.filter((s) => s.up && s.inFlight === fewest))`,
  },
  {
    name: 'least-connections counts the fewest in flight over every server, so an idle server that is down leaves none to pick',
    hint: 'Hint 2: least-connections',
    replace: `const fewest = Math.min(...candidates.map((s) => s.inFlight))`,
    with: `const fewest = Math.min(...servers.map((s) => s.inFlight))`,
  },
  {
    name: 'a pass after failures adds to the streak instead of starting at +1',
    hint: 'Hint 3: rise and fall',
    replace: `server.streak = Math.max(server.streak, 0) + 1`,
    with: `server.streak = server.streak + 1`,
  },
  {
    name: 'a failure after passes subtracts from the streak instead of starting at -1',
    hint: 'Hint 3: rise and fall',
    replace: `server.streak = Math.min(server.streak, 0) - 1`,
    with: `server.streak = server.streak - 1`,
  },
  {
    name: 'a down server comes back on its first passed check',
    hint: 'Hint 3: rise and fall',
    replace: `if (!server.up && server.streak >= options.rise) server.up = true`,
    with: `if (!server.up) server.up = true`,
  },
  {
    name: 'a server goes down one failed check late',
    hint: 'Hint 3: rise and fall',
    replace: `-server.streak >= options.fall`,
    with: `-server.streak > options.fall`,
  },
  {
    name: 'eject keeps the streak, so an ejected server returns at once',
    hint: 'Hint 3: rise and fall',
    replace: `      server.up = false
      server.streak = 0`,
    with: `      server.up = false`,
  },
]
