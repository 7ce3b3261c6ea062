// Copies the contracts (the repository's protos/mlopsdebug/**/*.proto) into dist/protos, where the
// client loads them at run time: the package then carries its own protos (npm pack ships dist/).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const source = path.resolve(__dirname, "..", "..", "..", "protos", "mlopsdebug");
const target = path.resolve(__dirname, "..", "dist", "protos", "mlopsdebug");
fs.rmSync(target, { recursive: true, force: true });
fs.cpSync(source, target, {
  recursive: true,
  filter: (file) => fs.statSync(file).isDirectory() || file.endsWith(".proto"),
});
