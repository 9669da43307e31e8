/** One CSV record and the (1-based) line of the file it starts on. */
export interface CsvRecord {
  readonly line: number
  readonly fields: ReadonlyArray<string>
}

/**
 * RFC 4180 CSV: fields separated by `,`, records by LF or CRLF; a field in double quotes may hold
 * commas, line breaks and `""` (one quote). Blank lines are skipped. Yields one record at a time so
 * a caller that keeps only what it needs never holds the whole file twice; returns, when a quote is
 * left open at the end of the file, the error naming the line it opened on.
 */
export function* csvRecords(text: string): Generator<CsvRecord, string | undefined> {
  let fields: Array<string> = []
  let field = ""
  let line = 1
  let recordLine = 1
  let quoted = false
  let quoteLine = 0
  let fieldStarted = false
  const endRecord = (): CsvRecord | undefined => {
    fields.push(field)
    const record = fields.length === 1 && fields[0] === "" && !fieldStarted ? undefined : { line: recordLine, fields }
    fields = []
    field = ""
    fieldStarted = false
    return record
  }
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0 // a byte-order mark, as spreadsheets write it
  for (let i = start; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i++
        } else quoted = false
      } else {
        if (c === "\n") line++
        field += c
      }
      continue
    }
    if (c === '"' && field === "") {
      quoted = true
      quoteLine = line
      fieldStarted = true
    } else if (c === ",") {
      fields.push(field)
      field = ""
      fieldStarted = true
    } else if (c === "\r" && text[i + 1] === "\n") {
      // the LF ends the record
    } else if (c === "\n") {
      const record = endRecord()
      if (record !== undefined) yield record
      line++
      recordLine = line
    } else {
      field += c
      fieldStarted = true
    }
  }
  if (quoted) return `line ${quoteLine}: a quoted field is never closed`
  if (field !== "" || fields.length > 0 || fieldStarted) {
    const record = endRecord()
    if (record !== undefined) yield record
  }
  return undefined
}

/** Every record of `text` at once, and the error `csvRecords` ends with, if any. */
export const parseCsv = (text: string): { readonly records: ReadonlyArray<CsvRecord>; readonly error?: string } => {
  const records: Array<CsvRecord> = []
  const it = csvRecords(text)
  for (let next = it.next(); ; next = it.next()) {
    if (next.done) return next.value === undefined ? { records } : { records, error: next.value }
    records.push(next.value)
  }
}
