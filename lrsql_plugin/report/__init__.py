"""Reports: conversion statistics (and, in lrsql_plugin.evaluation, evaluation reports)."""
