#!/usr/bin/env bash
# Placeholder until the lambda adapter lands.
echo "the lambda adapter is not built yet: nothing to test"
