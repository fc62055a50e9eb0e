// `--help` / `-h` for every command: print the usage and exit 0 before any argument parsing (strict
// parsers would reject the flag, and nothing should be opened or connected just to show help).
export function exitOnHelp (argv: string[], usage: string): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage.trimEnd() + '\n')
    process.exit(0)
  }
}

/** The usage text of a command: its leading comment block, without the comment marks. */
export function usageFromHeader (source: string): string {
  const lines: string[] = []
  for (const line of source.split('\n')) {
    if (!line.startsWith('//')) break
    lines.push(line.replace(/^\/\/ ?/, ''))
  }
  return lines.join('\n')
}
