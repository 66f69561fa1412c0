export const typeDefs = /* GraphQL */ `
  "A crystal structure in the database. Lengths in Å."
  type Material {
    id: ID!
    name: String!
    formula: String!
    reducedFormula: String!
    elements: [String!]!
    spaceGroup: Int
    sourceFile: String
    createdAt: String!
    pathways: [Pathway!]!
  }

  "One hop of a mobile ion. hopLength in Å; emDft in eV with its source."
  type Pathway {
    id: ID!
    ion: String!
    hopLength: Float!
    multiplicity: Int
    emDft: Float
    emDftSource: String
    predictions: [Prediction!]!
  }

  "A model's prediction for a pathway (eV), with the model that made it."
  type Prediction {
    model: String!
    emPredicted: Float!
    emStd: Float!
    pGood: Float!
    createdAt: String!
  }

  type PageInfo {
    endCursor: String
    hasNextPage: Boolean!
  }
  type MaterialEdge {
    cursor: String!
    node: Material!
  }
  type MaterialConnection {
    edges: [MaterialEdge!]!
    pageInfo: PageInfo!
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
  type ImportJob {
    id: ID!
    status: ImportJobStatus!
    imported: Int!
    failed: Int!
    errors: [ImportError!]!
  }

  input StructureInput {
    name: String!
    "cif, poscar, extxyz, json, or absent for auto-detection"
    format: String
    content: String!
  }

  type Query {
    materials(ion: String, first: Int, after: String): MaterialConnection!
    material(id: ID!): Material
    importJob(id: ID!): ImportJob
  }

  type Mutation {
    "Import structures given inline as text; with ion, enumerate that ion's hops and store them as pathways."
    importStructures(structures: [StructureInput!]!, ion: String, predict: Boolean): ImportJob!
  }
`;
