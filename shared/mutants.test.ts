import { checkMutant } from './mutants'
import { findStep } from './steps'

// The proof behind verify:exercises, on step 1's exercise: a wrong answer
// must fail a test that names the hint which fixes it.
describe('verify:exercises and the typical wrong answers', () => {
  const step = findStep('step01')!
  const mutant = {
    name: 'codes take their characters from a shorter alphabet',
    hint: 'Hint 1: codes',
    replace: 'code += ALPHABET[random(ALPHABET.length)]',
    with: 'code += ALPHABET[random(36)]',
  }

  it('accepts a mutant that fails a test naming its hint', async () => {
    expect(await checkMutant(step, mutant)).toBeUndefined()
  })

  it('fails when a listed mutant passes every test', async () => {
    const harmless = { ...mutant, with: mutant.replace }
    expect(await checkMutant(step, harmless)).toMatch(/passes every test/)
  })

  it("fails when a mutant's failures name another hint than its own", async () => {
    const misnamed = { ...mutant, hint: 'Hint 3: aliases' }
    expect(await checkMutant(step, misnamed)).toMatch(
      /name "?Hint 1: codes"?, not "Hint 3: aliases"/,
    )
  })

  it("fails when a mutant's failures name no hint at all", async () => {
    // A bare string has no message for hinted() to add its hint to, as a
    // failure outside hinted() (a hook, an unwrapped test) would have none.
    const silent = {
      ...mutant,
      with: `if (random !== randomInt) throw 'no message'
    ${mutant.replace}`,
    }
    expect(await checkMutant(step, silent)).toMatch(
      /fails 1 test\(s\), but they name no hint, not "Hint 1: codes"/,
    )
  })

  it('fails when the text a mutant replaces is not in the solution', async () => {
    const stale = { ...mutant, replace: 'no such line' }
    expect(await checkMutant(step, stale)).toMatch(/occurs 0 times/)
  })
})
