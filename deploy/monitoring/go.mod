module github.com/cachetsync/cachet/deploy/monitoring

go 1.26.8
