import { spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"

/** Reads the guides as they are now, so a command someone adds tomorrow is seen by the next run. */

export const repoRoot = resolve(import.meta.dirname, "../../../..")

/** The root README and every guide in docs/, as paths relative to the repository. */
export const guideFiles = (): ReadonlyArray<string> => [
  "README.md",
  ...readdirSync(join(repoRoot, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`)
]

export interface GuideCommand {
  readonly file: string
  /** 1-based line the command starts on. */
  readonly line: number
  /** As a reader would type it: continuation lines joined, the trailing comment left out, spaces collapsed. */
  readonly command: string
}

const SHELL_LANGUAGES = new Set(["sh", "bash", "shell", "console"])

interface Block {
  readonly language: string
  /** 1-based line of the block's first content line. */
  readonly start: number
  readonly lines: ReadonlyArray<string>
}

const blocksOf = (text: string): ReadonlyArray<Block> => {
  const blocks: Array<Block> = []
  let open: { fence: string; language: string; start: number; lines: Array<string> } | undefined
  text.split("\n").forEach((line, i) => {
    const fence = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(line)
    if (open === undefined) {
      if (fence !== null) open = { fence: fence[1]!, language: fence[2]!.toLowerCase(), start: i + 2, lines: [] }
    } else if (fence !== null && fence[1]!.startsWith(open.fence) && fence[2] === "") {
      blocks.push(open)
      open = undefined
    } else {
      open.lines.push(line)
    }
  })
  return blocks
}

/** The contents of a guide's fenced blocks in `language` (e.g. the fleet file a guide shows). */
export const fencedBlocks = (file: string, language: string): ReadonlyArray<string> =>
  blocksOf(readFileSync(join(repoRoot, file), "utf8"))
    .filter((b) => b.language === language)
    .map((b) => `${b.lines.join("\n")}\n`)

/** Cuts a ` # comment` that is not inside quotes. */
const withoutComment = (line: string) => {
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote !== undefined) {
      if (c === quote) quote = undefined
    } else if (c === "'" || c === '"') {
      quote = c
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) {
      return line.slice(0, i)
    }
  }
  return line
}

export const normalize = (command: string) => command.replace(/\s+/g, " ").trim()

/** Every shell command in the fenced sh/bash/shell/console blocks of `file`; in console blocks only `$ ` lines. */
export const commandsIn = (file: string): ReadonlyArray<GuideCommand> => {
  const found: Array<GuideCommand> = []
  for (const block of blocksOf(readFileSync(join(repoRoot, file), "utf8"))) {
    if (!SHELL_LANGUAGES.has(block.language)) continue
    const prompted = block.language === "console"
    let pending: { line: number; text: string } | undefined
    block.lines.forEach((raw, i) => {
      let line = raw
      if (pending === undefined) {
        if (prompted) {
          if (!/^\s*\$ /.test(line)) return
          line = line.replace(/^\s*\$ /, "")
        }
        pending = { line: block.start + i, text: "" }
      }
      const continued = /\\\s*$/.test(line)
      pending.text += ` ${withoutComment(line.replace(/\\\s*$/, ""))}`
      if (continued) return
      const command = normalize(pending.text)
      if (command !== "") found.push({ file, line: pending.line, command })
      pending = undefined
    })
  }
  return found
}

export const allGuideCommands = (): ReadonlyArray<GuideCommand> => guideFiles().flatMap(commandsIn)

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `command` the way the guides tell a reader to, through `sh scripts/run` (a supported Node
 * and the workspace's binaries on PATH), without a shell's CLAWFLEET_* or OPENAI_* settings.
 * Asynchronous, so an in-process server the command talks to keeps answering.
 */
export const runCommand = (
  command: string,
  options: { readonly cwd?: string; readonly env?: Record<string, string>; readonly timeoutMs?: number } = {}
): Promise<RunResult> => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(CLAWFLEET_|OPENAI_)/.test(key)))
  const child = spawn("sh", [join(repoRoot, "scripts/run"), "sh", "-c", command], {
    cwd: options.cwd ?? repoRoot,
    env: { ...env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so a command that hangs is stopped with everything it started.
    detached: true
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), options.timeoutMs ?? 45_000)
  return new Promise((done, fail) => {
    child.once("error", fail)
    child.once("close", (code) => {
      clearTimeout(timer)
      done({ code, stdout, stderr })
    })
  })
}

/** The words a POSIX shell would pass for `command`: split on blanks, quotes removed. Enough for the guides' CLI lines. */
export const shellWords = (command: string): ReadonlyArray<string> =>
  [...command.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!)
