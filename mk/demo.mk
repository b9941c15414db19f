# make demo: the whole system on its embedded defaults.
.PHONY: demo
demo: fabric ## bring Cachet up on a local network and show it working
	scripts/demo.sh
