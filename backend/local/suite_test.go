package local

import (
	"testing"

	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/sandbox/sandboxtest"
)

func TestBehaviouralSuite(t *testing.T) {
	sandboxtest.Run(t, func(t *testing.T) sandbox.Provider { return newTestProvider(t) })
}
