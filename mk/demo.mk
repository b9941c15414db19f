# make demo: the whole system on its embedded defaults.
.PHONY: demo demo-down
demo: fabric sdk sdk-cachet ## bring the whole chain up (network, relay, Kafka, analytics, push, demo page) and run a session (DEMO_DOWN=1: stop it afterwards)
	scripts/demo.sh $(if $(DEMO_DOWN),--down)

demo-down: ## stop what make demo started (data stays under .run/)
	scripts/demo.sh stop
