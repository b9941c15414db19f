// Package monitoring holds the tests that keep Cachet's Prometheus alert
// rules (rules/), their PrometheusRule (prometheusrule.yaml) and the Grafana
// dashboards (dashboards/) honest: every PromQL expression parses with
// Prometheus' own parser and names only metrics the daemons export, and the
// PrometheusRule carries exactly the groups of the rule files.
package monitoring
