export { ELEMENT_SYMBOLS, atomicNumber, isElement, parseTypeSymbol, resolveElement, type ElementSymbol } from "./elements.js";
export { CrystalError, ParseError, InputTooLargeError, InvalidStructureError, DisorderedStructureError, type SourceLocation } from "./errors.js";
export { Lattice, norm, dot, cross, det3, matmul, type Vec3, type Mat3, type LatticeParameters } from "./lattice.js";
export { Structure, wrap01, OCCUPANCY_TOLERANCE, type Site } from "./structure.js";
export { Composition } from "./composition.js";
export {
  neighbourList,
  nearestNeighbours,
  coordination,
  type NeighbourList,
  type NeighbourOptions,
  type NearestNeighbourOptions,
} from "./neighbours.js";
export { readCif, readCifEntries, parseCifBlocks, parseSymmetryOperation, type CifBlock, type CifReadOptions } from "./io/cif.js";
export { writeCif } from "./io/cif-writer.js";
export { readPoscar, writePoscar, type PoscarReadOptions, type PoscarWriteOptions } from "./io/poscar.js";
export { readExtxyz, writeExtxyz } from "./io/xyz.js";
export { readJsonStructures, parseJsonText, toPymatgenDict, toOptimade, toJarvisAtoms } from "./io/json.js";
export { decodeText, detectFormat, entryBlock, fileErrorReason, readStructureEntries, readStructureFileEntries, readStructures, readStructureFile, readTextFile, unwritableLocation, type StructureFormat, type ReadOptions } from "./io/read.js";
export { Pathway, PathwayError, DEFAULT_IMAGES, hopPathway, pathClearance, type EndpointOptions, type PathStructure } from "./pathway.js";
export { symmetryOf, SymmetryError, type SymmetryInfo, type SymmetryOperation } from "./symmetry.js";
export { enumerateHops, noHopsReason, percolationDimension, HopError, type Hop, type HopAnalysis, type HopOptions } from "./hops.js";
