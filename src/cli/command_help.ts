// A CLI command's description and options in one definition: its parser takes the options from
// it and `--help` prints it, so the help cannot name an option the parser refuses.
export interface OptionSpec {
  /** Placeholder of the value (`T`, `SECONDS`); none for a flag. */
  value?: string;
  help: string;
  required?: boolean;
  /** May be given more than once. */
  multiple?: boolean;
}

export interface CommandSpec {
  /** What the command does, one or two sentences. */
  description: string;
  /** Positional arguments as the synopsis shows them, e.g. `<command_id>`; none when absent. */
  arguments?: string;
  options: Record<string, OptionSpec>;
  /** Lines after the options: environment variables, exit codes, examples. */
  notes?: string[];
}

export const isHelp = (argv: readonly string[]): boolean =>
  argv.includes("--help") || argv.includes("-h");

/** The options of `spec` as node:util parseArgs wants them. */
export function parseArgsOptions(
  spec: CommandSpec,
): Record<string, { type: "string" | "boolean"; multiple?: boolean }> {
  return Object.fromEntries(
    Object.entries(spec.options).map(([name, o]) => [
      name,
      { type: o.value ? "string" : "boolean", ...(o.multiple ? { multiple: true } : {}) },
    ]),
  );
}

/** `usage: <program> <command> ...`, the description and one line per option. */
export function renderHelp(program: string, command: string, spec: CommandSpec): string {
  const flag = (name: string, o: OptionSpec) => `--${name}${o.value ? ` ${o.value}` : ""}`;
  const synopsis = Object.entries(spec.options).map(([name, o]) =>
    o.required ? flag(name, o) : `[${flag(name, o)}]`
  );
  const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => [
    flag(name, o),
    o.help + (o.required ? " (required)" : ""),
  ]);
  rows.push(["-h, --help", "show this help"]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const args = spec.arguments ? `${spec.arguments} ` : "";
  return [
    `usage: ${program} ${command} ${args}${synopsis.join(" ")}`.trimEnd(),
    "",
    spec.description,
    "",
    "options:",
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    ...(spec.notes ? ["", ...spec.notes] : []),
  ].join("\n");
}
