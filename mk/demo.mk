# make demo: the whole system on its embedded defaults.
.PHONY: demo
demo: fabric ## bring Cachet up on a local network and show it working (DEMO_DOWN=1: stop it afterwards)
	scripts/demo.sh $(if $(DEMO_DOWN),--down)
