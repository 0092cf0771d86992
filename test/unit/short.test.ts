import assert from 'node:assert/strict'
import { shortArgs } from '../../src/events/short.js'

describe('event labels (shortArgs)', function () {
  it('shows small values exactly and typed arrays by their length', function () {
    assert.equal(shortArgs([4, 6]), '4, 6')
    assert.equal(shortArgs([20000n]), '20000n')
    assert.equal(shortArgs([-(2n ** 79n)]), `${-(2n ** 79n)}n`)
    assert.equal(shortArgs([new Float64Array(1000)]), 'Float64Array(1000)')
  })

  it('shows a huge integer by its size alone, never converting it to decimal (10^6! would block the event loop for seconds)', function () {
    // 10^200000 has 200,001 digits; its label comes from the bit length, within one digit.
    const label = shortArgs([10n ** 200000n])
    const digits = Number(/~(\d+) digits/.exec(label)?.[1])
    assert.ok(Math.abs(digits - 200001) <= 1, label)
    assert.match(shortArgs([-(10n ** 30n)]), /^-…\(~\d+ digits\)n$/)
  })
})
