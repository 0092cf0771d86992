import assert from 'node:assert/strict'
import { DEFAULT_LIMITS } from '../../src/node/mesh-node.js'
import { add, factorial, matmul } from '../../src/tasks/builtins.js'
import { loadTasks } from '../../src/tasks/loader.js'
import { checkParams, matrixToRows, toMatrix } from '../../src/tasks/params.js'
import { parseArg } from '../../src/cli/args.js'

const codeOf = (fn: () => unknown): string | undefined => {
  try { fn() } catch (err: any) { return err.code }
  return undefined
}

describe('built-in tasks', function () {
  it('add: numbers, bigints, and exact mixing of a bigint with an integer', function () {
    assert.equal(add.run(...add.validate!([4, 6], DEFAULT_LIMITS)), 10)
    assert.equal(add.run(...add.validate!([2n ** 70n, 1], DEFAULT_LIMITS)), 2n ** 70n + 1n)
    assert.equal(codeOf(() => add.validate!([1n, 0.5], DEFAULT_LIMITS)), 'BAD_ARGUMENT')
  })

  it('factorial: validates sign and limit', function () {
    assert.deepEqual(factorial.validate!([10n], DEFAULT_LIMITS), [10])
    assert.equal(codeOf(() => factorial.validate!([-1], DEFAULT_LIMITS)), 'BAD_ARGUMENT')
    assert.equal(codeOf(() => factorial.validate!([11], { ...DEFAULT_LIMITS, maxFactorialN: 10 })), 'LIMIT_EXCEEDED')
    assert.equal(factorial.run(20), 2432902008176640000n)
  })

  it('matmul: both forms, with dimension checks', function () {
    const [a, b] = matmul.validate!([[[1, 2, 3]], [[1], [2], [3]]], DEFAULT_LIMITS)
    assert.deepEqual(matrixToRows(matmul.run(a, b) as any), [[14]])
    const random = matmul.run(...matmul.validate!([3, 5], DEFAULT_LIMITS)) as any
    assert.equal(random.rows, 3)
    assert.equal(random.cols, 3)
    assert.equal(codeOf(() => matmul.validate!([[[1, 2]], [[1, 2]]], DEFAULT_LIMITS)), 'BAD_ARGUMENT')
    assert.equal(codeOf(() => matmul.validate!([0, 3], DEFAULT_LIMITS)), 'BAD_ARGUMENT')
    assert.equal(codeOf(() => matmul.validate!(['x', 3], DEFAULT_LIMITS)), 'BAD_ARGUMENT')
    assert.equal(codeOf(() => matmul.validate!([10, 10], { ...DEFAULT_LIMITS, maxMatrixDim: 5 })), 'LIMIT_EXCEEDED')
  })
})

describe('argument checks', function () {
  const params = [{ name: 'n', type: 'integer' as const }, { name: 's', type: 'string' as const, optional: true }]
  it('checks count and types with messages that name the argument', function () {
    assert.deepEqual(checkParams('t', params, [1]), [1])
    assert.deepEqual(checkParams('t', params, [1n, 'x']), [1n, 'x'])
    assert.throws(() => checkParams('t', params, []), /t takes 1 to 2 arguments/)
    assert.throws(() => checkParams('t', params, [1.5]), /t: n must be an integer/)
    assert.throws(() => checkParams('t', params, [1, 2]), /t: s must be a string/)
  })

  it('accepts matrices as rows or as {rows, cols, data}', function () {
    const m = toMatrix([[1, 2], [3, 4]], 'm')
    assert.deepEqual(Array.from(m.data), [1, 2, 3, 4])
    assert.equal(toMatrix(m, 'm'), m)
    assert.throws(() => toMatrix([[1, 2], [3]], 'm'), /row 1/)
    assert.throws(() => toMatrix([[1, NaN]], 'm'), /finite/)
  })
})

describe('CLI argument parsing', function () {
  it('keeps integers exact, parses decimals, JSON and booleans, leaves the rest as strings', function () {
    assert.equal(parseArg('42'), 42)
    assert.equal(parseArg('-5'), -5)
    assert.equal(parseArg('123456789012345678901234567890'), 123456789012345678901234567890n)
    assert.equal(parseArg('1.5'), 1.5)
    assert.deepEqual(parseArg('[[1,2]]'), [[1, 2]])
    assert.equal(parseArg('true'), true)
    assert.equal(parseArg('abc'), 'abc')
    assert.throws(() => parseArg('[1,'), (err: any) => err.code === 'BAD_ARGUMENT')
  })
})

describe('task loading', function () {
  it('resolves built-ins by name and refuses unknown names with the list of built-ins', async function () {
    const tasks = await loadTasks('add, factorial')
    // decimal is served with factorial: it prints factorial's huge results (docs/work-stealing.md).
    assert.deepEqual([...tasks.keys()], ['add', 'factorial', 'decimal'])
    assert.equal(tasks.get('add')?.mode, 'inline')
    assert.equal(tasks.get('factorial')?.mode, 'pool')
    await assert.rejects(loadTasks('add,nope'), /unknown task "nope": the built-ins are add, factorial, matmul/)
  })

  it('loads a user task module by path', async function () {
    const tasks = await loadTasks('./examples/my-tasks.js')
    assert.ok(tasks.has('greet'))
    assert.equal(tasks.get('greet')?.mode, 'pool')
  })
})
