import ArgumentParser
import CLICommon
import Foundation
import IFEval
import Judges
import LM

public struct JudgeFile: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "judge",
    abstract: "Score anyone's generations: concept, instruction relevance and fluency (0–2), trait and coherence (0–100), or IFEval's checkers.",
    discussion: """
      --bench ifeval scores answers to IFEval with Google's checkers (all 25 instructions, strict and loose), \
      from IFEval's own two files: --input-data (lines {key, prompt, instruction_id_list, kwargs}) and \
      --responses (lines {prompt, response}, matched to the input data by prompt). It writes \
      DIR/eval_results_strict.jsonl and DIR/eval_results_loose.jsonl as evaluation_main does and prints \
      prompt- and instruction-level accuracy. docs/IFEVAL.md says where it differs from the reference.

      Otherwise each input line is a JSON object with instruction and response, plus concept (AxBench scores), trait \
      (a persona trait name, or a path to its trait file), or instruction_id_list (compare's IFEval lines: coherence \
      is rescored). The same lines are written with concept_score, instruct_score, fluency_score and harmonic added, \
      or trait_score and coherence, or coherence.

      Examples:
        compare judge --input examples/generations.jsonl --output scored.jsonl
        compare judge --input out/small/generations.jsonl --output out/small/rescored.jsonl
        compare judge --bench ifeval --input-data examples/ifeval_input.jsonl --responses examples/ifeval_responses.jsonl --out ifeval-scores
        compare judge --input examples/generations.jsonl --judge openai --judge-url http://127.0.0.1:8080/v1 --judge-model gpt-4o-mini
      """)

  @OptionGroup var modelOptions: ModelOptions
  @OptionGroup var judgeOptions: JudgeOptions
  @Option(help: "ifeval: score IFEval answers with its checkers (needs --input-data, --responses, --out). Without it, lines are AxBench or persona by their fields.")
  var bench: JudgedBench?
  @Option(help: "JSON Lines to score (AxBench or persona lines).") var input: String?
  @Option(help: "Output file (default: standard output).") var output: String?
  @Option(name: .customLong("input-data"), help: "IFEval's input data: {key, prompt, instruction_id_list, kwargs} per line.") var inputData: String?
  @Option(help: "IFEval responses: {prompt, response} per line.") var responses: String?
  @Option(help: "Directory for eval_results_strict.jsonl and eval_results_loose.jsonl (--bench ifeval).") var out: String?
  @Option(help: "Directory of persona trait files ({trait}_eval.json) for lines with a trait name.") var traitDir =
    "experiments/data/persona"

  public func validate() throws {
    if bench == .ifeval {
      guard inputData != nil, responses != nil, out != nil else {
        throw ValidationError("--bench ifeval needs --input-data, --responses and --out")
      }
      guard input == nil, output == nil else { throw ValidationError("--bench ifeval reads --input-data and --responses, not --input, and writes --out, not --output") }
    } else {
      guard input != nil else { throw ValidationError("give --input (AxBench or persona lines), or --bench ifeval with --input-data and --responses") }
      guard inputData == nil, responses == nil, out == nil else {
        throw ValidationError("--input-data, --responses and --out belong to --bench ifeval")
      }
    }
  }

  public func run() throws {
    if bench == .ifeval { return try judgeIFEval() }
    let input = input ?? ""
    let text = try readText(input, "--input")
    var lines: [JudgedLine] = []
    for line in JSONLines.decode(JudgedLine.self, from: text) {
      guard case .success(let judged) = line.value, judged.isJudgeable else {
        throw CLIError(
          "\(input):\(line.number): needs instruction, response and concept (or trait, or IFEval's instruction_id_list); compare's generations.jsonl carries them from 2026-12 on"
        )
      }
      lines.append(judged)
    }
    guard !lines.isEmpty else { throw CLIError("\(input) holds no line to judge") }
    let judge = try judgeOptions.make(model: { try modelOptions.load() })
    let axbench = lines.indices.filter { lines[$0].concept != nil }
    let persona = lines.indices.filter { lines[$0].trait != nil && lines[$0].concept == nil }
    // IFEval lines (compare's --bench ifeval generations): the judge rescores coherence; whether an
    // answer follows its instruction is the checkers' verdict, which --bench ifeval computes.
    let ifeval = lines.indices.filter { lines[$0].concept == nil && lines[$0].trait == nil }
    let axScores = try judge.score(
      axbench.map {
        // A suppressed prompt's answer is judged for relevance against the original instruction.
        AxBenchItem(
          instruction: lines[$0].text("original_instruction") ?? lines[$0].instruction, response: lines[$0].response,
          concept: lines[$0].concept ?? "")
      })
    for (i, s) in zip(axbench, axScores) {
      lines[i].set("concept_score", s.concept)
      lines[i].set("instruct_score", s.instruct)
      lines[i].set("fluency_score", s.fluency)
      lines[i].set("harmonic", s.harmonic)
    }
    var traits: [String: TraitDescription] = [:]
    for i in persona {
      let name = lines[i].trait ?? ""
      if traits[name] == nil {
        let path = name.hasSuffix(".json") ? name : JudgeOptions.resolve(traitDir) + "/\(name)_eval.json"
        do { traits[name] = try BenchmarkData.persona(path).description } catch { throw CLIError("\(error)") }
      }
    }
    let personaScores = try judge.score(
      persona.map { i in
        // Every trait was loaded above (or the command stopped there).
        PersonaItem(question: lines[i].instruction, answer: lines[i].response, trait: traits[lines[i].trait ?? ""]!)
      })
    for (i, s) in zip(persona, personaScores) {
      lines[i].set("trait_score", s.trait)
      lines[i].set("coherence", s.coherence)
    }
    let coherence = try judge.coherence(ifeval.map { CoherenceItem(question: lines[$0].instruction, answer: lines[$0].response) })
    for (i, c) in zip(ifeval, coherence) { lines[i].set("coherence", c) }
    let out = try lines.map { try JSONText.encode($0, keys: .asWritten) }.joined(separator: "\n") + "\n"
    if let output { try out.write(toFile: output, atomically: true, encoding: .utf8) } else { print(out, terminator: "") }
    log("judged \(lines.count) responses (peak RSS \(peakResidentMegabytes()) MB)")
  }

  /// `--bench ifeval`: no model and no judge, only the checkers.
  private func judgeIFEval() throws {
    guard let inputData, let responses, let out else { return }
    let inputText = try readText(inputData, "--input-data"), responseText = try readText(responses, "--responses")
    let judgement: IFEvalJudgement
    do {
      judgement = try IFEvalJudgement(
        inputData: Data(inputText.utf8), inputFile: inputData, responses: Data(responseText.utf8), responsesFile: responses,
        language: try LanguageDetector.bundled())
    } catch let e as IFEvalError {
      throw CLIError(e.description)
    }
    try judgement.write(to: out)
    print(judgement.summary)
    log("wrote \(out)/eval_results_strict.jsonl and eval_results_loose.jsonl (\(judgement.strict.count) responses)")
  }
}

/// `compare judge --bench`: the benches whose answers are judged from their own files.
enum JudgedBench: String, CaseIterable, ExpressibleByArgument {
  case ifeval
}

/// One line of `compare judge --input`: every field it holds, written back as it was read, with
/// the judge's scores added. Numbers are read as Double (an integer beyond 2⁵³ would round).
struct JudgedLine: Codable {
  var fields: [String: JSONValue]

  init(from decoder: any Decoder) throws { fields = try [String: JSONValue](from: decoder) }
  func encode(to encoder: any Encoder) throws { try fields.encode(to: encoder) }

  /// The string under `key`, if the line has one there.
  func text(_ key: String) -> String? {
    guard case .string(let s) = fields[key] else { return nil }
    return s
  }

  /// AxBench's and compare's `instruction`, or a persona line's `question`.
  var instruction: String { text("instruction") ?? text("question") ?? "" }
  /// `response`, or a persona line's `answer`.
  var response: String { text("response") ?? text("answer") ?? "" }
  var concept: String? { text("concept") }
  /// A persona trait's name, or a path to its trait file.
  var trait: String? { text("trait") }

  /// Whether the line has what some judge needs: a question, an answer, and what to judge by.
  var isJudgeable: Bool {
    let ifeval = if case .array = fields["instruction_id_list"] { true } else { false }
    return (text("instruction") ?? text("question")) != nil && (text("response") ?? text("answer")) != nil
      && (concept != nil || trait != nil || ifeval)
  }

  mutating func set(_ key: String, _ value: Double) { fields[key] = .number(value) }
}
