// Two bundles: the extension host's (Node, CommonJS: the extension, the helper host and tldctl)
// and the Hint Inspector webview (browser).
'use strict';
const path = require('path');
const webpack = require('webpack');

const tsRule = (configFile) => ({
  test: /\.ts$/,
  exclude: /node_modules/,
  use: [{ loader: 'ts-loader', options: { configFile, transpileOnly: false, compilerOptions: { noEmit: false } } }],
});

/** @type {import('webpack').Configuration} */
const extension = {
  name: 'extension',
  target: 'node',
  // The helper host is its own script: the extension starts it with sudo or pkexec. tldctl is
  // one file too: Node then starts it without resolving and reading a hundred modules. The
  // Hint Inspector's worker thread runs its own script.
  entry: {
    extension: './extension/src/extension.ts',
    helperHost: './extension/src/client/helperHost.ts',
    tldctl: './extension/src/cli/tldctl.ts',
    feedWorker: './extension/src/inspector/feedWorker.ts',
  },
  output: { path: path.resolve(__dirname, 'dist'), filename: '[name].js', libraryTarget: 'commonjs2' },
  // __dirname is the bundle's folder, where helperHost.js and feedWorker.js lie beside extension.js.
  node: { __dirname: false, __filename: false },
  // vscode is given by the host; koffi loads its own native binary at run time.
  externals: { vscode: 'commonjs vscode', koffi: 'commonjs koffi' },
  resolve: { extensions: ['.ts', '.js'] },
  module: { rules: [tsRule(path.resolve(__dirname, 'tsconfig.json'))] },
  // tldctl's bundle is a command (package.json's bin).
  plugins: [new webpack.BannerPlugin({ banner: '#!/usr/bin/env node', raw: true, entryOnly: true, include: /^tldctl\.js$/ })],
  infrastructureLogging: { level: 'warn' },
};

/** @type {import('webpack').Configuration} */
const webview = {
  name: 'webview',
  target: 'web',
  entry: './webview/src/main.ts',
  output: { path: path.resolve(__dirname, 'dist'), filename: 'webview.js' },
  resolve: { extensions: ['.ts', '.js'] },
  module: { rules: [tsRule(path.resolve(__dirname, 'tsconfig.webview.json'))] },
  infrastructureLogging: { level: 'warn' },
};

// Source maps only for development builds (webpack --mode development): the .vsix and the
// installed helper host carry none.
module.exports = (_env, argv) => {
  const devtool = argv.mode === 'development' ? 'source-map' : false;
  return [{ ...extension, devtool }, { ...webview, devtool }];
};
