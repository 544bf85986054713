import Foundation

/// One prompt of IFEval's input data (`input_data.jsonl`): its instructions with their kwargs.
public struct IFEvalPrompt: Sendable {
  public let key: Int?
  public let prompt: String
  public let instructions: [Instruction]

  public init(key: Int?, prompt: String, instructions: [Instruction]) {
    self.key = key
    self.prompt = prompt
    self.instructions = instructions
  }
}

/// A verdict line of `eval_results_strict.jsonl` / `eval_results_loose.jsonl`, with
/// evaluation_main's fields.
public struct IFEvalVerdict: Codable, Sendable, Equatable {
  public let instruction_id_list: [String]
  public let prompt: String
  public let response: String
  public let follow_all_instructions: Bool
  public let follow_instruction_list: [Bool]
}

/// Google's evaluation_main: strict checks the response as it is; loose also tries it without its
/// first line, without its last line, without both, and each of those with every `*` removed.
/// A blank response follows nothing.
public struct IFEvalScorer: Sendable {
  public enum Mode: String, CaseIterable, Sendable { case strict, loose }

  let language: LanguageDetector

  public init(language: LanguageDetector) { self.language = language }

  public func verdict(_ p: IFEvalPrompt, response: String, mode: Mode) -> IFEvalVerdict {
    let r = response.scalars
    let variants: [Scalars]
    switch mode {
    case .strict:
      variants = [r]
    case .loose:
      let lines = PythonText.split(r, separator: ["\n"])
      let join = { (part: ArraySlice<Scalars>) in PythonText.strip(Array(part.joined(separator: ["\n"]))) }
      let first = join(lines.dropFirst()), last = join(lines.dropLast()), both = join(lines.dropFirst().dropLast())
      let noStars = { (s: Scalars) in s.filter { $0 != "*" } }
      variants = [r, noStars(r), first, last, both, noStars(first), noStars(last), noStars(both)]
    }
    let prompt = p.prompt.scalars
    let detect = { (s: Scalars) in language.detect(s) }
    let follows = p.instructions.map { instruction in
      variants.contains { v in !PythonText.strip(v).isEmpty && instruction.isFollowed(by: v, prompt: prompt, language: detect) }
    }
    return IFEvalVerdict(
      instruction_id_list: p.instructions.map(\.id.rawValue), prompt: p.prompt, response: response,
      follow_all_instructions: follows.allSatisfy { $0 }, follow_instruction_list: follows)
  }
}

/// Prompt-level and instruction-level accuracy over verdicts, as evaluation_main prints them.
public struct IFEvalAccuracy: Codable, Sendable, Equatable {
  public let prompts: Int
  public let promptLevel: Double
  public let instructions: Int
  public let instructionLevel: Double

  public init(_ verdicts: [IFEvalVerdict]) {
    prompts = verdicts.count
    promptLevel = verdicts.isEmpty ? 0 : Double(verdicts.filter(\.follow_all_instructions).count) / Double(verdicts.count)
    let flat = verdicts.flatMap(\.follow_instruction_list)
    instructions = flat.count
    instructionLevel = flat.isEmpty ? 0 : Double(flat.filter { $0 }.count) / Double(flat.count)
  }
}

/// Reading IFEval's two files: the input data (`{key, prompt, instruction_id_list, kwargs}`) and the
/// responses (`{prompt, response}`), matched by prompt text, byte for byte.
public enum IFEvalFiles {
  private struct InputLine: Decodable {
    let key: JSONValue?
    let prompt: String
    let instruction_id_list: [String]
    let kwargs: [[String: JSONValue]]?
  }

  private struct ResponseLine: Decodable {
    let prompt: String
    let response: String
  }

  public static func readInputData(_ data: Data, file: String) throws -> [IFEvalPrompt] {
    var out: [IFEvalPrompt] = []
    var seen = Set<Data>()
    for (n, line) in lines(data) {
      let at = { (e: IFEvalError) in IFEvalError.at(file: file, line: n, IndirectError(e)) }
      let parsed = try decodeLine(
        InputLine.self, line, file: file, number: n, shape: "an IFEval input line {key, prompt, instruction_id_list, kwargs}")
      let kwargs = parsed.kwargs ?? Array(repeating: [:], count: parsed.instruction_id_list.count)
      guard kwargs.count == parsed.instruction_id_list.count else {
        throw at(.malformedLine("\(parsed.instruction_id_list.count) instruction ids but \(kwargs.count) kwargs"))
      }
      guard !parsed.instruction_id_list.isEmpty else { throw at(.malformedLine("instruction_id_list is empty")) }
      var instructions: [Instruction] = []
      for (id, k) in zip(parsed.instruction_id_list, kwargs) {
        do { instructions.append(try Instruction(id: id, kwargs: k)) } catch let e as IFEvalError { throw at(e) }
      }
      guard seen.insert(Data(parsed.prompt.utf8)).inserted else { throw at(.duplicatePrompt(parsed.prompt)) }
      var key: Int?
      if case .number(let d)? = parsed.key, d == d.rounded(), abs(d) < 1e15 { key = Int(d) }
      out.append(IFEvalPrompt(key: key, prompt: parsed.prompt, instructions: instructions))
    }
    return out
  }

  /// The responses, each paired with its prompt's input line.
  public static func readResponses(_ data: Data, file: String, inputs: [IFEvalPrompt]) throws -> [(IFEvalPrompt, String)] {
    var byPrompt: [Data: IFEvalPrompt] = [:]
    for p in inputs { byPrompt[Data(p.prompt.utf8)] = p }
    var out: [(IFEvalPrompt, String)] = []
    for (n, line) in lines(data) {
      let parsed = try decodeLine(ResponseLine.self, line, file: file, number: n, shape: "an IFEval response line {prompt, response}")
      guard let p = byPrompt[Data(parsed.prompt.utf8)] else {
        throw IFEvalError.at(file: file, line: n, IndirectError(.unknownPrompt(parsed.prompt)))
      }
      out.append((p, parsed.response))
    }
    return out
  }

  /// One line as `T`, or an error naming the file, the line and the shape it should have.
  static func decodeLine<T: Decodable>(_ type: T.Type, _ line: Data, file: String, number: Int, shape: String) throws -> T {
    do { return try JSONDecoder().decode(type, from: line) } catch {
      throw IFEvalError.at(file: file, line: number, IndirectError(.malformedLine("not \(shape): \(describe(error))")))
    }
  }

  /// Non-blank lines with their 1-based numbers.
  static func lines(_ data: Data) -> [(Int, Data)] {
    var out: [(Int, Data)] = []
    for (i, part) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
      if part.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
      out.append((i + 1, Data(part)))
    }
    return out
  }

  static func describe(_ error: Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, _): "the field '\(key.stringValue)' is missing"
    case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
      "the field '\(c.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
    case DecodingError.dataCorrupted: "it is not valid JSON"
    default: "\(error)"
    }
  }

  /// One JSON object per line, with keys sorted, as jq and pandas read them.
  public static func jsonLines(_ verdicts: [IFEvalVerdict]) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var out = Data()
    for v in verdicts {
      out += try encoder.encode(v)
      out.append(UInt8(ascii: "\n"))
    }
    return out
  }
}

/// `compare judge --bench ifeval`: IFEval's two input files in, evaluation_main's two outputs.
public struct IFEvalJudgement: Sendable {
  public let strict: [IFEvalVerdict]
  public let loose: [IFEvalVerdict]

  /// Reads both files (errors name the file and line), then scores every response both ways.
  public init(inputData: Data, inputFile: String, responses: Data, responsesFile: String, language: LanguageDetector) throws {
    let prompts = try IFEvalFiles.readInputData(inputData, file: inputFile)
    let pairs = try IFEvalFiles.readResponses(responses, file: responsesFile, inputs: prompts)
    let scorer = IFEvalScorer(language: language)
    strict = pairs.map { scorer.verdict($0.0, response: $0.1, mode: .strict) }
    loose = pairs.map { scorer.verdict($0.0, response: $0.1, mode: .loose) }
  }

  /// Writes eval_results_strict.jsonl and eval_results_loose.jsonl into `directory`, each to a
  /// temporary name first, so that a file there is always whole.
  public func write(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try IFEvalFiles.jsonLines(strict).write(to: URL(fileURLWithPath: directory + "/eval_results_strict.jsonl"), options: .atomic)
    try IFEvalFiles.jsonLines(loose).write(to: URL(fileURLWithPath: directory + "/eval_results_loose.jsonl"), options: .atomic)
  }

  /// What evaluation_main prints: prompt-level and instruction-level accuracy, strict and loose.
  public var summary: String {
    let s = IFEvalAccuracy(strict), l = IFEvalAccuracy(loose)
    func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
    return """
      prompt-level accuracy:       strict \(pct(s.promptLevel))  loose \(pct(l.promptLevel))  (\(s.prompts) prompts)
      instruction-level accuracy:  strict \(pct(s.instructionLevel))  loose \(pct(l.instructionLevel))  (\(s.instructions) instructions)
      """
  }
}

/// A prompt of the steering benchmark's IFEval data (Stolfo et al.'s files): IFEval's prompt with
/// its instruction, and the same query without it.
public struct IFEvalBenchmarkPrompt: Sendable {
  public let item: IFEvalPrompt
  public let promptWithoutInstruction: String
}

extension IFEvalFiles {
  private struct BenchmarkLine: Decodable {
    let key: Int
    let prompt: String?
    let prompt_without_instruction: String
    let instruction_id_list: [String]
    let kwargs: [[String: JSONValue]]?
  }

  /// format_single_instruction.jsonl (and keyword_*.jsonl): every line must carry its kwargs.
  public static func readBenchmark(_ data: Data, file: String) throws -> [IFEvalBenchmarkPrompt] {
    try lines(data).map { n, line in
      let at = { (e: IFEvalError) in IFEvalError.at(file: file, line: n, IndirectError(e)) }
      let parsed = try decodeLine(
        BenchmarkLine.self, line, file: file, number: n,
        shape: "an IFEval benchmark line {key, prompt, prompt_without_instruction, instruction_id_list, kwargs}")
      guard let prompt = parsed.prompt, let kwargs = parsed.kwargs, kwargs.count == parsed.instruction_id_list.count,
        !kwargs.isEmpty
      else { throw at(.malformedLine("needs prompt and one kwargs object per instruction id")) }
      var instructions: [Instruction] = []
      for (id, k) in zip(parsed.instruction_id_list, kwargs) {
        do { instructions.append(try Instruction(id: id, kwargs: k)) } catch let e as IFEvalError { throw at(e) }
      }
      return IFEvalBenchmarkPrompt(
        item: IFEvalPrompt(key: parsed.key, prompt: prompt, instructions: instructions),
        promptWithoutInstruction: parsed.prompt_without_instruction)
    }
  }

  private struct BaseLine: Decodable {
    let key: Int
    let prompt_without_instruction: String
  }

  /// ifeval_without_instructions.jsonl: (key, the query with every instruction removed).
  public static func readBaseQueries(_ data: Data, file: String) throws -> [(key: Int, query: String)] {
    try lines(data).map { n, line in
      let b = try decodeLine(BaseLine.self, line, file: file, number: n, shape: "a base-query line {key, prompt_without_instruction}")
      return (b.key, b.prompt_without_instruction)
    }
  }
}
