/// How a steered method's factor is chosen on IFEval units: on the selection prompts, the highest
/// strict accuracy among the factors whose coherence is at least prompting's (as persona steering
/// keeps prompting's coherence); where none reaches it, the most coherent factor. Ties go to the
/// smaller factor.
enum IFEvalFactorProtocol {
  /// The selection prompts of a unit with `n` eval prompts: the first half (at least one).
  static func selectCount(_ n: Int) -> Int { n < 2 ? n : n / 2 }

  static func choose(_ grid: [FactorResult], promptingCoherence: Double?) -> Int {
    guard !grid.isEmpty else { return 0 }
    let floor = promptingCoherence ?? -Double.infinity
    let eligible = grid.indices.filter { (grid[$0].select.coherence ?? 0) >= floor }
    let order = grid.indices.sorted { grid[$0].factor < grid[$1].factor }
    if !eligible.isEmpty {
      return order.filter(eligible.contains).max { (grid[$0].select.ifStrict ?? 0) < (grid[$1].select.ifStrict ?? 0) }!
    }
    return order.max { (grid[$0].select.coherence ?? 0) < (grid[$1].select.coherence ?? 0) }!
  }
}
