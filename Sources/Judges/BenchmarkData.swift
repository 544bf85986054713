import Foundation
import LM

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
  /// The lines of `path` as `T`; a line that does not fit throws `needs` with its number.
  static func jsonLines<T: Decodable>(_ path: String, as type: T.Type, needs: String) throws -> [T] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw JudgeError.data("cannot read \(path)") }
    return try JSONLines.decode(T.self, from: text).map { line in
      guard case .success(let value) = line.value else { throw JudgeError.data("\(path):\(line.number): needs \(needs)") }
      return value
    }
  }

  public static func axbenchExamples(_ path: String) throws -> [AxBenchExample] {
    struct Line: Decodable {
      var concept_id: Int
      var concept: String?
      var label: String
      var instruction: String
      var output: String
      init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        concept_id = try c.decode(Int.self, forKey: .concept_id)
        concept = c.lenient(String.self, forKey: .concept)
        label = try c.decode(String.self, forKey: .label)
        instruction = try c.decode(String.self, forKey: .instruction)
        output = try c.decode(String.self, forKey: .output)
      }
      enum CodingKeys: String, CodingKey { case concept_id, concept, label, instruction, output }
    }
    return try jsonLines(path, as: Line.self, needs: "concept_id, label, instruction, output").map {
      AxBenchExample(conceptID: $0.concept_id, concept: $0.concept, label: $0.label, instruction: $0.instruction, output: $0.output)
    }
  }

  public static func axbenchConcepts(_ path: String) throws -> [AxBenchConcept] {
    struct Line: Decodable {
      var concept_id: Int
      var concept: String
      var genre: String?
      init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        concept_id = try c.decode(Int.self, forKey: .concept_id)
        concept = try c.decode(String.self, forKey: .concept)
        genre = c.lenient(String.self, forKey: .genre)
      }
      enum CodingKeys: String, CodingKey { case concept_id, concept, genre }
    }
    return try jsonLines(path, as: Line.self, needs: "concept_id and concept").map {
      AxBenchConcept(conceptID: $0.concept_id, concept: $0.concept, genre: $0.genre)
    }
  }

  public static func alpaca(_ path: String) throws -> [AlpacaExample] {
    struct Line: Decodable {
      var id: Int
      var instruction: String
      var output: String?
      init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        instruction = try c.decode(String.self, forKey: .instruction)
        output = c.lenient(String.self, forKey: .output)
      }
      enum CodingKeys: String, CodingKey { case id, instruction, output }
    }
    return try jsonLines(path, as: Line.self, needs: "id and instruction").map {
      AlpacaExample(id: $0.id, instruction: $0.instruction, output: $0.output)
    }
  }

  /// Reads `{name}_{split}.json`-style trait files.
  public static func persona(_ path: String) throws -> PersonaTrait {
    struct File: Decodable {
      var instruction: [[String: String]]
      var questions: [String]
      var eval_prompt: String
    }
    guard let data = FileManager.default.contents(atPath: path), let o = try? JSONDecoder().decode(File.self, from: data) else {
      throw JudgeError.data("\(path) is not a persona trait file (instruction, questions, eval_prompt)")
    }
    let (pairs, questions, evalPrompt) = (o.instruction, o.questions, o.eval_prompt)
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
