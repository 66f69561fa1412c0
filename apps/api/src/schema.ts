export const typeDefs = /* GraphQL */ `
  "A crystal structure in the database. Lengths in Å, coordinates fractional."
  type Material {
    id: ID!
    name: String!
    formula: String!
    reducedFormula: String!
    elements: [String!]!
    spaceGroup: Int
    structureClass: String
    sourceFile: String
    "DOI or citation the structure came from."
    citation: String
    "DFT functional of the structure's relaxation, when known."
    functional: String
    createdAt: String!
    lattice: Lattice!
    sites: [Site!]!
    "Pathways of this material (of one ion when given), shortest first."
    pathways(ion: String): [Pathway!]!
    "Ranking figures for an ion under a model (default: the active model)."
    ranking(ion: String!, model: String): MaterialRanking
  }

  type Lattice {
    "Lattice vectors as rows, Å."
    matrix: [[Float!]!]!
    a: Float!
    b: Float!
    c: Float!
    alpha: Float!
    beta: Float!
    gamma: Float!
    volume: Float!
  }

  type Site {
    species: String!
    frac: [Float!]!
    occupancy: Float
    label: String
  }

  "One hop of a mobile ion. hopLength in Å; emDft in eV with its source (citation and functional)."
  type Pathway {
    id: ID!
    material: Material!
    ion: String!
    initial: [Float!]!
    final: [Float!]!
    "Fractional positions of the path images, endpoints included."
    images: [[Float!]!]!
    hopLength: Float!
    multiplicity: Int
    emDft: Float
    emDftSource: String
    "Every stored prediction (one per model), newest first."
    predictions: [Prediction!]!
    """
    The latest prediction by a model (default: the active model). With live: true, a pathway the model has
    not predicted yet is predicted now through the inference service (batched with the other fields of the
    request) and stored.
    """
    prediction(model: String, live: Boolean): Prediction
  }

  "A model's prediction for a pathway (eV), with the model that made it (name@version)."
  type Prediction {
    model: String!
    emPredicted: Float!
    emStd: Float!
    pGood: Float!
    """
    The model's applicability warnings for this pathway, e.g. an element absent from its training data or a
    path passing closer than 1 Å to a host atom (where its held-out error is much larger); empty when none.
    """
    warnings: [String!]!
    createdAt: String!
  }

  "How a material ranks for one mobile ion under one model (eV)."
  type MaterialRanking {
    ion: String!
    model: String!
    hops: Int!
    lowestEm: Float!
    "Lowest barrier at which the ion's hop network percolates (null: it does not)."
    percolationEm: Float
    percolationDim: Int!
    "percolationEm when known, else lowestEm: what materials are ranked by."
    rankEm: Float!
    emStd: Float!
    pGood: Float!
    hasDft: Boolean!
  }

  type PageInfo {
    endCursor: String
    hasNextPage: Boolean!
  }
  type MaterialEdge {
    cursor: String!
    "1-based position of this row in the whole list (its rank, when sorted by EM)."
    position: Int!
    node: Material!
    "The ranking figures for the filter's ion, when it names one."
    ranking: MaterialRanking
  }
  type MaterialConnection {
    edges: [MaterialEdge!]!
    pageInfo: PageInfo!
    "The model whose predictions rank and filter this list."
    model: String
  }
  type PathwayEdge {
    cursor: String!
    "1-based position of this row in the whole list."
    position: Int!
    node: Pathway!
  }
  type PathwayConnection {
    edges: [PathwayEdge!]!
    pageInfo: PageInfo!
  }

  input MaterialFilter {
    "Mobile ion (materials containing it); needed by the Em filters and sorts."
    ion: String
    elementsAll: [String!]
    elementsNone: [String!]
    structureClass: String
    spaceGroup: Int
    "Ranking Em range, eV."
    emMin: Float
    emMax: Float
    "Only materials predicted below the good-conductor threshold (0.65 eV)."
    goodOnly: Boolean
    hasDft: Boolean
    "name@version; default the active model."
    model: String
  }

  enum MaterialSort {
    "Lowest ranking Em first (needs filter.ion)."
    EM
    "Most likely good conductor first (needs filter.ion)."
    PGOOD
    FORMULA
    "Newest first."
    DATE
  }

  input PathwayFilter {
    materialId: ID
    ion: String
    hasDft: Boolean
  }

  type Model {
    id: ID!
    name: String!
    version: String!
    "name@version"
    tag: String!
    active: Boolean!
    "The model card, as JSON text."
    card: String!
    createdAt: String!
  }

  enum ImportJobStatus {
    QUEUED
    RUNNING
    DONE
    FAILED
  }
  type ImportError {
    name: String!
    index: Int!
    reason: String!
  }
  "What an import notice is about."
  enum ImportNoticeKind {
    "The structure has no site of the ion: stored without its pathways."
    NO_ION
    "The structure has the ion but no hops of it within the search length: stored without pathways."
    NO_HOPS
    "A stored pathway could not be predicted."
    UNPREDICTED
    "The item (or a block of it) was already stored: nothing new was written."
    DUPLICATE
    "A dataset entry's barrier came without its citation (DOI) and functional: the pathway was stored without it."
    UNLABELLED
    "A notice written before kinds were recorded."
    NOTE
  }
  "An item an import stored, with something to know about it (e.g. the ion has no hops within the search length)."
  type ImportNotice {
    name: String!
    index: Int!
    kind: ImportNoticeKind!
    message: String!
  }
  "What deleteMaterials removed."
  type DeleteOutcome {
    materials: Int!
    "Their pathways, with the DFT labels stored on them."
    pathways: Int!
    "Every model's predictions for those pathways."
    predictions: Int!
    "Their ranking rows (per ion and model)."
    rankings: Int!
  }

  "A bulk import or a prediction job, with its progress."
  type ImportJob {
    id: ID!
    kind: String!
    status: ImportJobStatus!
    "Items read so far: files, archive members or dataset entries (a prediction job: pathways)."
    processed: Int!
    "Items to read, when known in advance."
    total: Int
    "Structures stored or found already stored (a multi-structure file counts each of its blocks), duplicates included; a prediction job: predictions written."
    imported: Int!
    "Of imported, those already stored: nothing new was written for them."
    duplicates: Int!
    "Items, blocks or pathways that failed, each with its reason in errors."
    failed: Int!
    "Why items or blocks failed, in input order (first: at most 1000, default 100)."
    errors(first: Int): [ImportError!]!
    "The job's notices in input order, of one kind or all (first: at most 1000, default 100)."
    notices(first: Int, kind: ImportNoticeKind): [ImportNotice!]!
    createdAt: String!
    finishedAt: String
  }

  type HistogramBins {
    binStart: Float!
    binWidth: Float!
    counts: [Int!]!
  }
  type IonCount {
    ion: String!
    pathways: Int!
    materials: Int!
  }
  type ClassCount {
    structureClass: String
    materials: Int!
  }
  type Stats {
    materials: Int!
    pathways: Int!
    labelledPathways: Int!
    model: String
    emHistogram: HistogramBins!
    byIon: [IonCount!]!
    byClass: [ClassCount!]!
  }

  input StructureInput {
    name: String!
    "cif, poscar, extxyz, json, or absent for auto-detection"
    format: String
    content: String!
  }

  "A pathway by its endpoints (fractional), or by two sites of the material and the cell offset of the second."
  input AddPathwayInput {
    materialId: ID!
    ion: String!
    initial: [Float!]
    final: [Float!]
    fromSite: Int
    toSite: Int
    image: [Int!]
  }

  input LabelInput {
    "DFT migration barrier, eV."
    emDft: Float!
    "DOI or citation of the calculation."
    citation: String!
    "Exchange-correlation functional, e.g. PBE, GGA+U, r2SCAN."
    functional: String!
  }

  type Query {
    materials(filter: MaterialFilter, sort: MaterialSort, first: Int, after: String): MaterialConnection!
    material(id: ID!): Material
    pathways(filter: PathwayFilter, first: Int, after: String): PathwayConnection!
    pathway(id: ID!): Pathway
    "Materials ranked by the lowest barrier that lets the ion percolate, else their lowest hop."
    ranking(ion: String!, model: String, first: Int, after: String): MaterialConnection!
    models: [Model!]!
    activeModel: Model
    importJob(id: ID!): ImportJob
    stats(model: String, ion: String): Stats!
  }

  type Mutation {
    "Import structures given inline as text; with ion, enumerate that ion's hops; with predict, predict them."
    importStructures(structures: [StructureInput!]!, ion: String, predict: Boolean): ImportJob!
    addPathway(input: AddPathwayInput!): Pathway!
    labelPathway(id: ID!, label: LabelInput!): Pathway!
    """
    Predict these pathways (or all) with the loaded model; runs as a background job, watch it with importJob.
    Pathways it already predicted are skipped unless replace: true (then the new prediction replaces the old).
    """
    predict(pathwayIds: [ID!], all: Boolean, replace: Boolean): ImportJob!
    setActiveModel(model: String!): Model!
    """
    Delete materials with everything stored for them: their pathways (and DFT labels), every model's predictions and
    their ranking rows. All of them or, when an id is unknown (NOT_FOUND) or an import or predict job is running
    (CONFLICT), none. At most 1,000 ids per call. Needs an admin key.
    """
    deleteMaterials(ids: [ID!]!): DeleteOutcome!
  }
`;
