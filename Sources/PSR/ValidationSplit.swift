/// How many of a capture's examples are held out for validation, for every fit (S-PSR in
/// `CapturedLayer`, A-PSR and LL in `psr fit`): round(n · fraction), at least one when the fraction is
/// positive and there are two examples or more, and never all of them. A fraction of 0, or a single
/// example, holds none out.
public enum ValidationSplit {
  public static func heldOut(examples n: Int, fraction: Double) -> Int {
    guard n >= 2, fraction > 0 else { return 0 }
    // Clamped before Int(_:): a fraction of ∞ (or above 1) means "all but one", never a trap.
    return min(n - 1, max(1, Int((Double(n) * min(fraction, 1)).rounded())))
  }
}
