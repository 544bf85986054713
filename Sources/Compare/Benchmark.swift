/// The three benchmarks of the PSR paper that `compare` runs: a unit, a result row and a summary row
/// each name theirs with this type (written as its raw value in results.json and generations.jsonl).
public enum Benchmark: String, Codable, CaseIterable, Comparable, Sendable {
  /// AxBench concepts: concept, instruction relevance and fluency, 0–2 (Wu et al., 2025).
  case axbench
  /// Persona traits: trait expression and coherence, 0–100 (Chen et al., 2025).
  case persona
  /// IFEval's format instructions: strict and loose accuracy by IFEval's checkers (Stolfo et al., 2025).
  case ifeval

  /// By name, the order results.json has always listed units and rows in.
  public static func < (a: Benchmark, b: Benchmark) -> Bool { a.rawValue < b.rawValue }
}
