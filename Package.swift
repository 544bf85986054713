// swift-tools-version:6.0
import PackageDescription

/// No `-Ounchecked` on the numeric core and no `-O3` on the kernels: measured equal without them
/// (experiments/bench, 2026-12-06), and SwiftPM refuses unsafe flags in a URL dependency.
let unchecked: [SwiftSetting] = []
let optimize: [SwiftSetting] = []
/// The command-line front-ends are thin; testable in release so that CLITests can parse their
/// commands with ArgumentParser's own `parse`.
let frontEnd: [SwiftSetting] = [.unsafeFlags(["-enable-testing"])]

let package = Package(
  name: "PSRSteering",
  products: [
    .executable(name: "psr", targets: ["PSRCLI"]),
    .executable(name: "capture", targets: ["CaptureCLI"]),
    .executable(name: "compare", targets: ["CompareCLI"]),
    .library(name: "LM", targets: ["LM"]),
    .library(name: "Steering", targets: ["Steering"]),
    .library(name: "Store", targets: ["Store"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
    .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    .target(name: "CKernels"),
    .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"], swiftSettings: unchecked),
    .target(name: "LM", dependencies: ["Tensor"], swiftSettings: optimize),
    .target(name: "Steering", dependencies: ["LM", "Tensor"], swiftSettings: optimize),
    .target(name: "Store", dependencies: ["CHDF5"], swiftSettings: optimize),
    .target(name: "Embedding", dependencies: ["LM", "Tensor"], swiftSettings: optimize),
    .target(name: "Judges", dependencies: ["CCurl", "Embedding", "LM"], swiftSettings: optimize),
    .target(
      name: "Compare", dependencies: ["Capture", "IFEval", "Judges", "LM", "PSR", "Steering", "Store"], swiftSettings: optimize),
    .target(name: "Capture", dependencies: ["LM", "Store"], swiftSettings: optimize),
    .target(name: "IFEval", resources: [.copy("Resources/langdetect")], swiftSettings: optimize),
    .target(name: "PSR", dependencies: ["LM", "Steering", "Store", "Tensor"], swiftSettings: optimize),
    .target(name: "Report", dependencies: ["Compare", "LM", "Steering", "Store"], swiftSettings: optimize),
    .target(
      name: "CLICommon", dependencies: ["LM", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: optimize),
    .executableTarget(
      name: "CaptureCLI",
      dependencies: ["Capture", "CLICommon", "LM", "Store", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: frontEnd),
    .executableTarget(
      name: "PSRCLI",
      dependencies: [
        "CLICommon", "Capture", "Embedding", "Judges", "LM", "PSR", "Report", "Steering", "Store", "Tensor",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: frontEnd),
    .target(name: "TestSupport", dependencies: ["LM"], path: "Tests/TestSupport"),
    .executableTarget(
      name: "CompareCLI",
      dependencies: [
        "CLICommon", "Capture", "Compare", "Embedding", "IFEval", "Judges", "LM", "PSR", "Report", "Steering", "Store",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: frontEnd),
    .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
    .testTarget(name: "CLICommonTests", dependencies: ["CLICommon"]),
    .testTarget(name: "LMTests", dependencies: ["LM", "Steering", "Tensor", "TestSupport"]),
    .testTarget(name: "SteeringTests", dependencies: ["Steering", "LM", "Tensor", "TestSupport"]),
    .testTarget(name: "StoreTests", dependencies: ["Store", "CHDF5", "TestSupport"]),
    .testTarget(
      name: "CLITests",
      dependencies: [
        "Capture", "CaptureCLI", "CLICommon", "Compare", "CompareCLI", "IFEval", "LM", "PSRCLI", "Steering", "Store", "TestSupport",
      ]),
    .testTarget(name: "EmbeddingTests", dependencies: ["Embedding", "LM", "TestSupport"]),
    .testTarget(name: "CompareTests", dependencies: ["Compare", "IFEval", "Judges", "Embedding", "LM", "Store", "TestSupport"]),
    .testTarget(name: "JudgesTests", dependencies: ["Judges", "Embedding", "LM", "TestSupport"]),
    .testTarget(name: "CaptureTests", dependencies: ["Capture", "Store", "LM", "TestSupport"]),
    .testTarget(name: "ReportTests", dependencies: ["Report", "Compare", "Steering", "Store", "LM", "TestSupport"]),
    .testTarget(name: "PSRTests", dependencies: ["PSR", "Capture", "Steering", "Store", "LM", "TestSupport"]),
    .testTarget(name: "IFEvalTests", dependencies: ["IFEval", "LM", "TestSupport"]),
    .testTarget(
      name: "PropertyTests", dependencies: ["CLICommon", "Capture", "Compare", "LM", "Steering", "Store", "TestSupport"]),
  ],
  swiftLanguageModes: [.v6]
)
