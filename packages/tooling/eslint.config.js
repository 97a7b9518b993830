// ESLint flat config for the whole workspace, kept in packages/tooling so that
// typescript-eslint runs on this package's TypeScript 5.9 (the root has TS 7,
// which has no JavaScript compiler API). Run via `pnpm --filter effect-dynamic-batcher-tooling lint`.
import * as effectEslint from "@effect/eslint-plugin"
import { defineConfig } from "eslint/config"
import tseslint from "typescript-eslint"

export default defineConfig(
  {
    // The lint script runs from packages/ with --config, so paths are relative to packages/.
    ignores: ["**/node_modules/**", "**/dist/**", "**/build/**", "**/docs/**", "**/*.md"]
  },
  {
    files: ["**/*.ts", "**/*.mts", "**/*.cts"],
    extends: [tseslint.configs.recommended, ...effectEslint.configs.dprint],
    languageOptions: {
      parser: tseslint.parser,
      ecmaVersion: "latest",
      sourceType: "module"
    },
    linterOptions: {
      reportUnusedDisableDirectives: "error"
    },
    rules: {
      // As in Effect's own repository: `any` is the variance escape hatch of
      // generic internals (an entry of any record type, a batch of any kind).
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_"
        }
      ],
      // Same dprint settings as Effect's own repository.
      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "arrowFunction.useParentheses": "force"
          }
        }
      ]
    }
  }
)
