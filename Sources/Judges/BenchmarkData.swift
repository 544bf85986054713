import Foundation

/// A labelled AxBench example (concept10_*_train/eval.jsonl).
public struct AxBenchExample: Sendable, Equatable {
  public var conceptID: Int
  public var concept: String?
  /// `positive`, `negative` or `hard negative`.
  public var label: String
  public var instruction: String
  public var output: String
}

/// An AxBench concept (concept500_*.jsonl).
public struct AxBenchConcept: Sendable, Equatable, Codable {
  public var conceptID: Int
  public var concept: String
  public var genre: String?

  public init(conceptID: Int, concept: String, genre: String? = nil) {
    self.conceptID = conceptID
    self.concept = concept
    self.genre = genre
  }
}

/// An AlpacaEval instruction with GPT-4's answer.
public struct AlpacaExample: Sendable, Equatable {
  public var id: Int
  public var instruction: String
  public var output: String?
}

/// A persona trait file: prompts, questions and the judge prompt.
public struct PersonaTrait: Sendable, Equatable {
  public var description: TraitDescription
  public var questions: [String]
}

/// Readers of the benchmark data under experiments/data (see its README for sources).
public enum BenchmarkData {
  static func jsonLines(_ path: String) throws -> [[String: Any]] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw JudgeError.data("cannot read \(path)") }
    return try text.split(separator: "\n").enumerated().compactMap { i, line in
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty { return nil }
      guard let o = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] else {
        throw JudgeError.data("\(path):\(i + 1): not a JSON object")
      }
      return o
    }
  }

  public static func axbenchExamples(_ path: String) throws -> [AxBenchExample] {
    try jsonLines(path).enumerated().map { i, o in
      guard let id = o["concept_id"] as? Int, let label = o["label"] as? String, let instruction = o["instruction"] as? String,
        let output = o["output"] as? String
      else { throw JudgeError.data("\(path):\(i + 1): needs concept_id, label, instruction, output") }
      return AxBenchExample(conceptID: id, concept: o["concept"] as? String, label: label, instruction: instruction, output: output)
    }
  }

  public static func axbenchConcepts(_ path: String) throws -> [AxBenchConcept] {
    try jsonLines(path).enumerated().map { i, o in
      guard let id = o["concept_id"] as? Int, let concept = o["concept"] as? String else {
        throw JudgeError.data("\(path):\(i + 1): needs concept_id and concept")
      }
      return AxBenchConcept(conceptID: id, concept: concept, genre: o["genre"] as? String)
    }
  }

  public static func alpaca(_ path: String) throws -> [AlpacaExample] {
    try jsonLines(path).enumerated().map { i, o in
      guard let id = o["id"] as? Int, let instruction = o["instruction"] as? String else {
        throw JudgeError.data("\(path):\(i + 1): needs id and instruction")
      }
      return AlpacaExample(id: id, instruction: instruction, output: o["output"] as? String)
    }
  }

  /// Reads `{name}_{split}.json`-style trait files.
  public static func persona(_ path: String) throws -> PersonaTrait {
    guard let data = FileManager.default.contents(atPath: path),
      let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
      let pairs = o["instruction"] as? [[String: String]], let questions = o["questions"] as? [String],
      let evalPrompt = o["eval_prompt"] as? String
    else { throw JudgeError.data("\(path) is not a persona trait file (instruction, questions, eval_prompt)") }
    // NAME_extract.json / NAME_eval.json: the name is all before the suffix, so a trait named
    // very_kind stays very_kind (splitting at the first '_' made it "very").
    let file = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    let suffix = ["_extract", "_eval"].first { file.hasSuffix($0) && file.count > $0.count }
    let name = suffix.map { String(file.dropLast($0.count)) } ?? file
    return PersonaTrait(
      description: TraitDescription(
        name: name, pairs: pairs.compactMap { p in p["pos"].flatMap { pos in p["neg"].map { (pos, $0) } } }, evalPrompt: evalPrompt),
      questions: questions)
  }
}
