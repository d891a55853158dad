package execute_test

import (
	"os"
	"testing"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
