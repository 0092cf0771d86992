// The greeting example of Pyro4, as a module of objects for the CLI:
//   npx mesh node --expose ./examples/greeting/greeter.js
//   npx mesh call greeter.welcomeMessage John       # Hi welcome John
//   npx mesh ls                                     # lists greeter with its tags
//
// The default export maps object names to specs: exactly one of `object`
// (one shared instance), `factory` or `class` (new instances per session or
// per call), plus `instanceMode`, `metadata`, `oneway` and `methods`.

export class Greeter {
  welcomeMessage (name) {
    return `Hi welcome ${name}`
  }
}

export default {
  greeter: { object: new Greeter(), metadata: ['greeting', 'demo'] }
}
