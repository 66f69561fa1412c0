// One lint configuration for the whole repository. Besides the usual TypeScript rules it enforces the
// product's one-way data flow: parse → structure → pathway → graph → tensors → prediction → database → API → page.
// A package may import only packages that come before it in LAYERS.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

const LAYERS = [
  ["@ionrank/crystal"],
  ["@ionrank/featurize"],
  ["@ionrank/inference", "@ionrank/training"],
  ["@ionrank/db"],
  ["@ionrank/api", "@ionrank/cli"],
  ["@ionrank/web"],
];
const DIRS = {
  "@ionrank/crystal": "packages/crystal",
  "@ionrank/featurize": "packages/featurize",
  "@ionrank/inference": "packages/inference",
  "@ionrank/training": "packages/training",
  "@ionrank/db": "packages/db",
  "@ionrank/cli": "packages/cli",
  "@ionrank/api": "apps/api",
  "@ionrank/web": "apps/web",
};

function layering() {
  return LAYERS.flatMap((layer, depth) =>
    layer.map((name) => {
      const forbidden = LAYERS.slice(depth).flat().filter((n) => n !== name);
      return {
        files: [`${DIRS[name]}/**/*.{ts,tsx,js,mjs}`],
        rules: {
          "no-restricted-imports": [
            "error",
            {
              patterns: [
                ...(forbidden.length
                  ? [
                      {
                        group: forbidden.flatMap((n) => [n, `${n}/*`]),
                        message: `${name} sits earlier in the data flow and must not import this package (see eslint.config.js).`,
                      },
                    ]
                  : []),
                { group: ["../../packages/*", "../../apps/*", "../../../*"], message: "import other packages by name, not by path" },
              ],
            },
          ],
        },
      };
    }),
  );
}

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/.next/**", "**/.turbo/**", "**/coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["apps/web/**/*.{ts,tsx}"],
    languageOptions: { globals: { ...globals.browser, React: "readonly" } },
  },
  {
    // Settings are read in one validated env.ts per app or package (training's python.ts hands the environment
    // on to the Python core it launches), never scattered through the code.
    files: ["packages/*/src/**/*.{ts,tsx}", "apps/api/src/**/*.ts", "apps/web/{app,lib,components}/**/*.{ts,tsx}"],
    ignores: ["**/env.ts", "packages/training/src/python.ts"],
    rules: {
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "read settings in this package's env.ts" }],
    },
  },
  ...layering(),
);
