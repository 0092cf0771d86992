/** `mesh keygen <file>`: write a fresh pre-shared mesh key (mode 0600). */
export async function keygenCommand (file: string): Promise<void> {
  const { writePskFile } = await import('../../security/psk.js')
  await writePskFile(file)
  process.stderr.write(`wrote a new mesh key to ${file}; give it to every node of the mesh: mesh node --psk ${file} (or MESH_PSK_FILE=${file})\n`)
}
